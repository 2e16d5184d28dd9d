// Idempotency-Key for every POST of the API. The key is taken (a row with no answer yet) before the
// request executes, in one INSERT … ON CONFLICT DO NOTHING: of two concurrent requests with one key exactly
// one inserts and executes; the other finds the row and gets 409 (in progress), then the replay. The answer,
// whatever its status (a 5xx too), is stored and replayed for API_IDEMPOTENCY_RETENTION_HOURS (≥ 24, the
// API's promise); past it the key may be taken again, and the sweep prunes it.
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { deleteInBatches } from '@/db/delete-in-batches';
import { ApiError } from './errors';

/** A key whose request never finished (its process died) can be taken again after this long. */
export const IDEMPOTENCY_LOCK_SECONDS = 120;

export function requestHash(method: string, path: string, body: string): string {
  return createHash('sha256').update(method).update('\n').update(path).update('\n').update(body).digest('hex');
}

export type IdempotencyBegin = { kind: 'execute' } | { kind: 'replay'; status: number; body: unknown };

/** Takes the key or answers from it; throws 422 for another request under the same key, 409 while it runs. */
export async function beginIdempotent(
  db: DbOrTx,
  k: { key: string; apiKeyId: string; method: string; path: string; hash: string },
  replayHours: number,
): Promise<IdempotencyBegin> {
  const taken = await db.execute<{ key: string }>(sql`
    insert into api_idempotency_keys (key, request_hash, method, path, api_key_id)
    values (${k.key}, ${k.hash}, ${k.method}, ${k.path}, ${k.apiKeyId})
    on conflict (key) do update set
      request_hash = excluded.request_hash, method = excluded.method, path = excluded.path, api_key_id = excluded.api_key_id,
      created_at = now(), status = null, response_body = null, completed_at = null
      -- an expired answer, or a lock left by a process that died, is taken over (by one request only)
      where api_idempotency_keys.created_at < now() - ${`${replayHours} hours`}::interval
         or (api_idempotency_keys.status is null and api_idempotency_keys.created_at < now() - ${`${IDEMPOTENCY_LOCK_SECONDS} seconds`}::interval)
    returning key`);
  if (taken.length) return { kind: 'execute' };
  const [row] = await db.execute<{ request_hash: string; status: number | null; response_body: unknown }>(sql`
    select request_hash, status, response_body from api_idempotency_keys where key = ${k.key}`);
  if (!row) return beginIdempotent(db, k, replayHours); // removed in between: take it
  if (row.request_hash !== k.hash) {
    throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was used with another request (method, path or body): use a new key for a new request.');
  }
  if (row.status === null) {
    throw new ApiError(
      'idempotency_in_progress',
      'A request with this Idempotency-Key is still being processed: retry in a moment to get its answer.',
      undefined,
      { 'retry-after': '1' },
    );
  }
  return { kind: 'replay', status: row.status, body: row.response_body };
}

export async function completeIdempotent(db: DbOrTx, key: string, status: number, body: unknown): Promise<void> {
  await db.execute(sql`
    update api_idempotency_keys set status = ${status}, response_body = ${JSON.stringify(body)}::jsonb, completed_at = now()
    where key = ${key} and status is null`);
}

/**
 * Removes keys whose answers are past API_IDEMPOTENCY_RETENTION_HOURS (and locks that old: their process is
 * long dead), in batches of short DELETEs; the sweep calls it every minute, a backlog goes over several runs.
 */
export async function pruneIdempotencyKeys(db: DbOrTx, opts: { now: Date; retentionHours: number; batchSize?: number; maxBatches?: number }): Promise<number> {
  const cutoff = new Date(opts.now.getTime() - opts.retentionHours * 3_600_000).toISOString();
  return deleteInBatches(
    db,
    (limit) => sql`
      delete from api_idempotency_keys where key in (
        select key from api_idempotency_keys where created_at < ${cutoff}::timestamptz order by created_at limit ${limit})`,
    opts,
  );
}
