// The queue monitor's domain: per-queue figures read live from pg-boss's job table, each queue's policy as
// the catalogue and the registry configure it, and the dead letters with retry and discard (audited).
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { rawTransaction, type Db, type DbOrTx } from '@/db/client';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import { allQueueDefinitions, QUEUES } from '@/server/queue/catalogue';
import { causeId } from '@/server/queue/ids';
import { insertJob } from '@/server/queue/insert-job';

type Row = Record<string, unknown>;
const q = async <T extends Row>(db: DbOrTx, query: ReturnType<typeof sql>) => (await db.execute(query)) as unknown as T[];
const num = (v: unknown) => (v == null ? null : Number(v));

const SPARK_MINUTES = 30;

export interface QueuePolicy {
  policy: string | undefined;
  retryLimit: number | undefined;
  retryDelay: number | undefined;
  retryBackoff: boolean | undefined;
  retryDelayMax: number | undefined;
  expireInSeconds: number | undefined;
  deadLetter: string | undefined;
  batchSize: number | null;
  /** Workers per process fetching this queue (pg-boss localConcurrency; 1 unless the handler says). */
  concurrency: number;
}

export interface QueueFigures {
  name: string;
  isDeadLetter: boolean;
  ready: number;
  deferred: number;
  active: number;
  failed24h: number;
  oldestReadySeconds: number | null;
  throughputPerMinute: number;
  p95RunSeconds: number | null;
  /** Completed jobs per minute, oldest first, over the last SPARK_MINUTES minutes. */
  spark: number[];
  policy: QueuePolicy;
}

/** How a queue's workers fetch, as the job registry declares it; undefined: no worker takes the queue. */
export type WorkSettingsOf = (queue: string) => { batchSize?: number; localConcurrency?: number } | undefined;

function policyOf(name: string, workOf: WorkSettingsOf): QueuePolicy {
  const def = allQueueDefinitions().find((d) => d.name === name);
  const work = workOf(name);
  return {
    policy: def?.policy,
    retryLimit: def?.retryLimit,
    retryDelay: def?.retryDelay,
    retryBackoff: def?.retryBackoff,
    retryDelayMax: def?.retryDelayMax,
    expireInSeconds: def?.expireInSeconds,
    deadLetter: def?.deadLetter,
    batchSize: work?.batchSize ?? null,
    concurrency: work?.localConcurrency ?? (work ? 1 : 0),
  };
}

/** `workOf` comes from the caller (the job registry lives above this module): the figures need none of it. */
export async function queueOverview(db: DbOrTx, workOf: WorkSettingsOf = () => undefined): Promise<QueueFigures[]> {
  const stats = await q(
    db,
    sql`select name,
          count(*) filter (where state in ('created', 'retry') and start_after <= now())::int as ready,
          count(*) filter (where state in ('created', 'retry') and start_after > now())::int as deferred,
          count(*) filter (where state = 'active')::int as active,
          count(*) filter (where state = 'failed' and completed_on > now() - interval '24 hours')::int as failed24h,
          extract(epoch from now() - min(start_after) filter (where state in ('created', 'retry') and start_after <= now())) as oldest,
          count(*) filter (where state = 'completed' and completed_on > now() - interval '15 minutes') / 15.0 as throughput,
          percentile_cont(0.95) within group (order by extract(epoch from completed_on - started_on))
            filter (where state = 'completed' and completed_on > now() - interval '1 hour' and started_on is not null) as p95
        from pgboss.job group by name`,
  );
  const sparks = await q<{ name: string; m: number; n: number }>(
    db,
    sql`select name, floor(extract(epoch from now() - completed_on) / 60)::int as m, count(*)::int as n from pgboss.job
        where state = 'completed' and completed_on > now() - make_interval(mins => ${SPARK_MINUTES}) group by 1, 2`,
  );
  const byName = new Map(stats.map((s) => [s.name as string, s]));
  return allQueueDefinitions().map((d) => {
    const s = byName.get(d.name);
    const spark = new Array(SPARK_MINUTES).fill(0);
    for (const p of sparks) if (p.name === d.name && p.m < SPARK_MINUTES) spark[SPARK_MINUTES - 1 - p.m] = p.n;
    return {
      name: d.name,
      isDeadLetter: !QUEUES.some((x) => x.name === d.name),
      ready: Number(s?.ready ?? 0),
      deferred: Number(s?.deferred ?? 0),
      active: Number(s?.active ?? 0),
      failed24h: Number(s?.failed24h ?? 0),
      oldestReadySeconds: num(s?.oldest) == null ? null : Math.round(Number(s!.oldest)),
      throughputPerMinute: Math.round(Number(s?.throughput ?? 0) * 10) / 10,
      p95RunSeconds: num(s?.p95) == null ? null : Math.round(Number(s!.p95) * 1000) / 1000,
      spark,
      policy: policyOf(d.name, workOf),
    };
  });
}

/** Keys that may hold secrets or personal data are masked; ids stay (they link to the order). */
const SECRET_KEY = /secret|token|password|passwd|key|sign|auth|cookie|openid|phone|email|address|card/i;
export function redactPayload(value: unknown, depth = 0): unknown {
  if (depth > 4) return '…';
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => redactPayload(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '••••' : redactPayload(v, depth + 1)]));
  }
  if (typeof value === 'string' && value.length > 120) return `${value.slice(0, 120)}…`;
  return value;
}

export interface DeadLetter {
  id: string;
  queue: string;
  sourceQueue: string | null;
  sourceId: string | null;
  attempts: number | null;
  lastError: string | null;
  payload: unknown;
  /** The order it concerns, when its payload names one (directly, or by attempt or refund). */
  orderId: string | null;
  deadSince: string;
}

export async function listDeadLetters(db: DbOrTx, limit = 200): Promise<DeadLetter[]> {
  const rows = await q<{
    id: string;
    name: string;
    data: Record<string, unknown> | null;
    source_name: string | null;
    source_id: string | null;
    source_retry_count: number | null;
    source_output: { error?: unknown } | null;
    created_on: Date;
    order_id: string | null;
  }>(
    db,
    sql`select j.id, j.name, j.data, j.source_name, j.source_id, j.source_retry_count, j.source_output, j.created_on,
          coalesce(o.id, a.order_id, r.order_id, e.order_id) as order_id
        from pgboss.job j
        left join orders o on o.id::text = j.data->>'orderId'
        left join payment_attempts a on a.id::text = j.data->>'attemptId'
        left join refunds r on r.id::text = j.data->>'refundId'
        left join lateral (
          select pa.order_id from wechatpay_notifications n join payment_attempts pa on pa.out_trade_no = n.resource->>'out_trade_no'
          where n.id::text = j.data->>'inboxId' limit 1
        ) e on true
        where j.name like '%.dead' and j.state in ('created', 'retry', 'active')
        order by j.created_on desc limit ${limit}`,
  );
  return rows.map((r) => ({
    id: r.id,
    queue: r.name,
    sourceQueue: r.source_name,
    sourceId: r.source_id,
    attempts: r.source_retry_count == null ? null : r.source_retry_count + 1,
    lastError:
      typeof r.source_output?.error === 'string'
        ? r.source_output.error.slice(0, 500)
        : r.source_output
          ? JSON.stringify(redactPayload(r.source_output)).slice(0, 500)
          : null,
    payload: redactPayload(r.data),
    orderId: r.order_id,
    deadSince: new Date(r.created_on).toISOString(),
  }));
}

export const DeadLetterIds = z.array(z.uuid()).min(1).max(200);

/** Where a dead letter goes back: its source queue, else the queue its dead-letter queue belongs to. */
function sourceOf(row: { name: string; source_name: string | null }): string | null {
  if (row.source_name) return row.source_name;
  return QUEUES.find((d) => d.deadLetter === row.name)?.name ?? null;
}

async function takeDead(tx: Parameters<Parameters<Db['transaction']>[0]>[0], ids: readonly string[]) {
  const rows = await q<{ id: string; name: string; data: unknown; source_name: string | null }>(
    tx,
    sql`select id, name, data, source_name from pgboss.job where id = any(${`{${ids.join(',')}}`}::uuid[])
        and name like '%.dead' and state in ('created', 'retry') for update`,
  );
  if (rows.length !== ids.length) throw new AppError('CONFLICT', 'Some of these dead letters were already handled; reload the list.');
  return rows;
}

/** Sends each dead letter back to its source queue as a new job (id derived from the dead letter: one retry per click). */
export async function retryDeadLetters(db: Db, actor: AuditActor, ids: readonly string[], reason: string | null): Promise<{ retried: number }> {
  const list = DeadLetterIds.parse(ids);
  return db.transaction(async (tx) => {
    const rows = await takeDead(tx, list);
    for (const row of rows) {
      const source = sourceOf(row);
      if (!source) throw new AppError('BAD_REQUEST', `No source queue known for ${row.name}`);
      const newId = causeId('redrive', row.id);
      await insertJob(rawTransaction(tx), source, { id: newId, data: row.data }, true);
      await tx.execute(sql`update pgboss.job set state = 'completed', completed_on = now(),
        output = ${JSON.stringify({ action: 'retried', as: newId, by: actor.email })}::jsonb where name = ${row.name} and id = ${row.id}::uuid`);
      await appendAudit(tx, actor, {
        action: 'queue.dead_letter.retry',
        objectType: 'job',
        objectId: row.id,
        before: { queue: row.name },
        after: { queue: source, jobId: newId, payload: redactPayload(row.data) },
        reason,
      });
    }
    return { retried: rows.length };
  });
}

/** Discards dead letters for good, with a reason (kept in the job's output and the audit log). */
export async function discardDeadLetters(db: Db, actor: AuditActor, ids: readonly string[], reason: string): Promise<{ discarded: number }> {
  const list = DeadLetterIds.parse(ids);
  const why = z.string().trim().min(3).max(500).safeParse(reason);
  if (!why.success) throw new AppError('BAD_REQUEST', 'Give a reason (3 to 500 characters) for discarding.');
  return db.transaction(async (tx) => {
    const rows = await takeDead(tx, list);
    for (const row of rows) {
      await tx.execute(sql`update pgboss.job set state = 'cancelled', completed_on = now(),
        output = ${JSON.stringify({ action: 'discarded', reason: why.data, by: actor.email })}::jsonb where name = ${row.name} and id = ${row.id}::uuid`);
      await appendAudit(tx, actor, {
        action: 'queue.dead_letter.discard',
        objectType: 'job',
        objectId: row.id,
        before: { queue: row.name, payload: redactPayload(row.data) },
        reason: why.data,
      });
    }
    return { discarded: rows.length };
  });
}
