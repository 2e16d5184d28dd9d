// API keys: the one module that creates, rolls, revokes and authenticates them. The secret is shown once
// (returned by create/roll) and stored as its SHA-256: 32 random bytes cannot be guessed, so a fast hash
// is enough and lets every request find its key in one indexed statement.
import { createHash, randomBytes } from 'node:crypto';
import { desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { apiKeys } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import type { ApiScope } from './scopes';

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type ApiKeyMode = 'simulator' | 'live';

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** `sk_test_…` for the simulator, `sk_live_…` for real money: a key says which world it belongs to. */
export function newSecret(mode: ApiKeyMode): string {
  return `${mode === 'live' ? 'sk_live_' : 'sk_test_'}${randomBytes(32).toString('base64url')}`;
}

/** What the console lists: never the hash. */
export function publicKey(row: ApiKeyRow) {
  const { secretHash: _hash, ...rest } = row;
  return rest;
}
export type PublicApiKey = ReturnType<typeof publicKey>;

export interface CreateKeyInput {
  name: string;
  scopes: readonly ApiScope[];
  expiresAt?: Date | null;
  mode: ApiKeyMode;
}

export async function createApiKey(db: DbOrTx, actor: AuditActor, input: CreateKeyInput): Promise<{ key: PublicApiKey; secret: string }> {
  const name = input.name.trim();
  if (!name) throw new AppError('BAD_REQUEST', 'A key needs a name.');
  if (input.scopes.length === 0) throw new AppError('BAD_REQUEST', 'A key needs at least one scope.');
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new AppError('BAD_REQUEST', 'The expiry must be in the future.');
  const secret = newSecret(input.mode);
  const inserted = await insertKey(db, actor, {
    name,
    scopes: [...new Set(input.scopes)],
    expiresAt: input.expiresAt ?? null,
    mode: input.mode,
    secret,
    rolledFrom: null,
  });
  return { key: inserted, secret };
}

async function insertKey(
  db: DbOrTx,
  actor: AuditActor,
  k: { name: string; scopes: ApiScope[]; expiresAt: Date | null; mode: ApiKeyMode; secret: string; rolledFrom: string | null },
) {
  const [row] = await db
    .insert(apiKeys)
    .values({
      name: k.name,
      mode: k.mode,
      prefix: k.secret.slice(0, 12),
      secretHash: hashSecret(k.secret),
      scopes: k.scopes,
      expiresAt: k.expiresAt,
      rolledFrom: k.rolledFrom,
      createdBy: actor.email ?? actor.id ?? 'system',
    })
    .returning();
  if (!row) throw new Error('api key insert returned no row');
  const key = publicKey(row);
  await appendAudit(db, actor, {
    action: k.rolledFrom ? 'api_key.roll' : 'api_key.create',
    objectType: 'api_key',
    objectId: row.id,
    after: { name: key.name, prefix: key.prefix, scopes: key.scopes, expiresAt: key.expiresAt, rolledFrom: k.rolledFrom },
  });
  return key;
}

export async function listApiKeys(db: DbOrTx): Promise<PublicApiKey[]> {
  const rows = await db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt));
  return rows.map(publicKey);
}

async function requireKey(db: DbOrTx, id: string): Promise<ApiKeyRow> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
  if (!row) throw new AppError('NOT_FOUND', 'API key not found');
  return row;
}

/**
 * A new secret with the same name and scopes; the old key keeps working for `overlapHours` (0: stops at
 * once) so the business system can switch without an outage.
 */
export async function rollApiKey(db: DbOrTx, actor: AuditActor, id: string, overlapHours: number): Promise<{ key: PublicApiKey; secret: string }> {
  const old = await requireKey(db, id);
  if (old.revokedAt) throw new AppError('CONFLICT', 'This key is revoked: create a new one.');
  const now = Date.now();
  if (old.expiresAt && old.expiresAt.getTime() <= now) throw new AppError('CONFLICT', 'This key has expired: create a new one.');
  const oldEnds = new Date(now + overlapHours * 3600_000);
  const ends = old.expiresAt && old.expiresAt < oldEnds ? old.expiresAt : oldEnds;
  await db.update(apiKeys).set({ expiresAt: ends }).where(eq(apiKeys.id, id));
  const secret = newSecret(old.mode as ApiKeyMode);
  const key = await insertKey(db, actor, {
    name: old.name,
    scopes: old.scopes as ApiScope[],
    expiresAt: old.expiresAt,
    mode: old.mode as ApiKeyMode,
    secret,
    rolledFrom: old.id,
  });
  return { key, secret };
}

export async function revokeApiKey(db: DbOrTx, actor: AuditActor, id: string): Promise<PublicApiKey> {
  const old = await requireKey(db, id);
  if (old.revokedAt) return publicKey(old);
  const [row] = await db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, id)).returning();
  await appendAudit(db, actor, { action: 'api_key.revoke', objectType: 'api_key', objectId: id, before: { name: old.name, prefix: old.prefix } });
  return publicKey(row!);
}

export interface AuthenticatedKey {
  id: string;
  name: string;
  mode: string;
  scopes: readonly ApiScope[];
}

/**
 * The key a bearer secret belongs to, if it is usable now (not revoked, not expired), recording its use
 * (time and IP) in the same statement. Null for anything else: the caller answers 401 without saying why.
 */
export async function authenticateApiKey(db: DbOrTx, secret: string, ip: string | null): Promise<AuthenticatedKey | null> {
  if (!/^sk_(live|test)_[A-Za-z0-9_-]{20,100}$/.test(secret)) return null;
  const rows = await db.execute<{ id: string; name: string; mode: string; scopes: string[] }>(sql`
    update ${apiKeys} set last_used_at = now(), last_used_ip = ${ip}
    where secret_hash = ${hashSecret(secret)} and revoked_at is null and (expires_at is null or expires_at > now())
    returning id, name, mode, scopes`);
  const row = rows[0];
  return row ? { id: row.id, name: row.name, mode: row.mode, scopes: row.scopes as ApiScope[] } : null;
}
