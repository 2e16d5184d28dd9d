// The audit log: who did what, from where, to which object, before/after, why, and whether their second
// factor was fresh. Appended in the same transaction as the change it describes; append-only (a trigger
// refuses UPDATE/DELETE/TRUNCATE) and hash-chained, so any edit made behind the trigger's back shows.
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx, Tx } from '@/db/client';
import { auditLog } from '@/db/schema';

const AUDIT_CHAIN_LOCK = 7_462_101; // serialises appends so each entry chains onto the one before
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditActor {
  id: string | null;
  email: string | null;
  role: string | null;
  ip: string | null;
  userAgent: string | null;
  twoFactorFresh: boolean;
}

export const SYSTEM_ACTOR: AuditActor = { id: null, email: 'system', role: null, ip: null, userAgent: null, twoFactorFresh: false };

export interface AuditInput {
  action: string;
  objectType?: string | null;
  objectId?: string | null;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
}

type Row = typeof auditLog.$inferSelect;

/** Canonical content of an entry (stable key order), hashed with the previous entry's hash. */
function entryHash(prevHash: string, e: Omit<Row, 'id' | 'hash' | 'prevHash'>): string {
  const canonical = JSON.stringify([
    e.at.toISOString(),
    e.actorId,
    e.actorEmail,
    e.actorRole,
    e.ip,
    e.userAgent,
    e.action,
    e.objectType,
    e.objectId,
    stable(e.before),
    stable(e.after),
    e.reason,
    e.twoFactorFresh,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

/** JSON with sorted keys (jsonb does not keep key order, so the hash must not depend on it). */
function stable(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map(stable);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

async function appendIn(tx: Tx, actor: AuditActor, input: AuditInput): Promise<Row> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
  const [last] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
  const prevHash = last?.hash ?? GENESIS_HASH;
  const entry = {
    at: new Date(),
    actorId: actor.id,
    actorEmail: actor.email,
    actorRole: actor.role,
    ip: actor.ip,
    userAgent: actor.userAgent,
    action: input.action,
    objectType: input.objectType ?? null,
    objectId: input.objectId ?? null,
    before: (stable(input.before) ?? null) as unknown,
    after: (stable(input.after) ?? null) as unknown,
    reason: input.reason ?? null,
    twoFactorFresh: actor.twoFactorFresh,
  };
  const hash = entryHash(prevHash, entry);
  const [row] = await tx
    .insert(auditLog)
    .values({ ...entry, prevHash, hash })
    .returning();
  return row!;
}

/** Appends one entry; inside `tx` when given (so it commits or rolls back with the change). */
export async function appendAudit(db: DbOrTx, actor: AuditActor, input: AuditInput): Promise<Row> {
  // On a transaction this is a savepoint: the entry still commits or rolls back with the outer change.
  return db.transaction((tx) => appendIn(tx, actor, input));
}

/** Walks the whole chain; returns the id of the first entry whose hash does not match, or null. */
export async function verifyAuditChain(db: DbOrTx): Promise<{ ok: boolean; checked: number; brokenAt: number | null }> {
  let prev = GENESIS_HASH;
  let checked = 0;
  let after = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(auditLog)
      .where(gte(auditLog.id, after + 1))
      .orderBy(asc(auditLog.id))
      .limit(1000);
    if (rows.length === 0) return { ok: true, checked, brokenAt: null };
    for (const r of rows) {
      if (r.prevHash !== prev || entryHash(prev, r) !== r.hash) return { ok: false, checked, brokenAt: r.id };
      prev = r.hash;
      checked++;
      after = r.id;
    }
  }
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  objectType?: string;
  objectId?: string;
  from?: Date;
  /** Exclusive: entries before this instant (a Beijing day filter passes the next day's midnight). */
  to?: Date;
  before?: number;
  limit: number;
}

/** Newest first, keyset on id. */
export async function listAudit(db: DbOrTx, f: AuditFilter): Promise<{ rows: Row[]; nextCursor: number | null }> {
  const where: SQL[] = [];
  if (f.actor) where.push(eq(auditLog.actorEmail, f.actor));
  if (f.action) where.push(eq(auditLog.action, f.action));
  if (f.objectType) where.push(eq(auditLog.objectType, f.objectType));
  if (f.objectId) where.push(eq(auditLog.objectId, f.objectId));
  if (f.from) where.push(gte(auditLog.at, f.from));
  if (f.to) where.push(lt(auditLog.at, f.to));
  if (f.before) where.push(lt(auditLog.id, f.before));
  const rows = await db
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(f.limit + 1);
  const more = rows.length > f.limit;
  const page = more ? rows.slice(0, f.limit) : rows;
  return { rows: page, nextCursor: more ? (page.at(-1)?.id ?? null) : null };
}
