// The auth secret: AUTH_SECRET, or one generated on first start into DATA_DIR/auth-secret (0600) and
// shared by every process of this installation through that file.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { AppEnv } from '@/server/env';

export function authSecret(env: AppEnv): string {
  if (env.AUTH_SECRET) return env.AUTH_SECRET;
  const file = path.resolve(/*turbopackIgnore: true*/ env.DATA_DIR, 'auth-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  } catch {
    // Another process won the race: use its secret.
  }
  return readFileSync(file, 'utf8').trim();
}
