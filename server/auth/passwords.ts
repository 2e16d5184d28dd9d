// Passwords: argon2id (@node-rs/argon2, OWASP parameters: m=19 MiB, t=2, p=1), plugged into better-auth.
import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum: not importable under isolatedModules)
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword({ hash: stored, password }: { hash: string; password: string }): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false; // not an argon2 hash
  }
}

/** A generated password for `users:create` without --password: 20 characters of base62-ish. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}
