// pg-boss's job row, written by us. Every enqueue in the app is an INSERT into pg-boss's job table in the
// caller's own transaction; writing it ourselves (instead of rendering pg-boss's `send` SQL and running it
// on the transaction) means web processes need no pg-boss instance at all, and the notify ingestion can
// put the inbox row and its job in one statement by composition rather than by rewriting pg-boss's text.
//
// This is written against pg-boss's schema version PGBOSS_SCHEMA_VERSION (pg-boss is pinned exactly):
// `assertQueueSchema` refuses to start on any other, and tests/integration/insert-job.test.ts checks,
// for every queue of the catalogue, that the row written here equals the row pg-boss's own `send` writes.
// The job's policy (retries, expiry, retention, dead letter) comes from the queue's row, as in pg-boss.
import type postgres from 'postgres';

export const PGBOSS_SCHEMA = 'pgboss';
/** pg-boss 12.38.0's schema version (node_modules/pg-boss/dist/schema.json, `pgboss.version`). */
export const PGBOSS_SCHEMA_VERSION = 46;

/** The channel pg-boss's workers LISTEN on when `useListenNotify` is on (pg-boss's notifyChannelSql). */
export const WAKE_CHANNEL_SQL = `('pgboss_' || left(encode(sha224('${PGBOSS_SCHEMA}'::bytea), 'hex'), 24))`;

/**
 * `insert into pgboss.job ... select ... from (<rows>) j` for one queue. `rows` is a SQL subquery with the
 * columns `id uuid, data jsonb, start_after timestamptz` (null start_after: runnable now); `queueParam`
 * is the placeholder holding the queue's name. Returns `id, start_after` of the rows inserted (a job
 * whose id exists already is skipped: ids derived from their cause make enqueues idempotent).
 * `withGroup`: `rows` also has a `group_id text` column (pg-boss's group, for per-group concurrency).
 */
export function jobInsertSql(rows: string, queueParam: string, withGroup = false): string {
  return `
    insert into ${PGBOSS_SCHEMA}.job (
      id, name, data, priority, start_after, created_on, singleton_key, singleton_on, group_id, group_tier,
      expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff, retry_delay_max,
      policy, dead_letter, heartbeat_seconds, blocked, blocking, pending_dependencies, trace_context)
    select j.id, q.name, j.data, 0, j.start_after, ${PGBOSS_SCHEMA}.job_now(), null, null, ${withGroup ? 'j.group_id' : 'null'}, null,
      q.expire_seconds, q.deletion_seconds, j.start_after + q.retention_seconds * interval '1s', q.retry_limit,
      q.retry_delay, q.retry_backoff, q.retry_delay_max, q.policy, q.dead_letter, q.heartbeat_seconds,
      false, false, 0, null
    from (select r.id, r.data, coalesce(r.start_after, ${PGBOSS_SCHEMA}.job_now()) as start_after${withGroup ? ', r.group_id' : ''} from (${rows}) r) j
    join ${PGBOSS_SCHEMA}.queue q on q.name = ${queueParam}
    on conflict do nothing
    returning id, start_after`;
}

/** pg-boss's wake-up for a queue's workers: what its `send` adds for a queue created with `notify: true`. */
export function wakeSql(queueParam: string): string {
  return `select pg_notify(${WAKE_CHANNEL_SQL}, ${queueParam})`;
}

// Jobs from a JSON parameter, waking the queue's workers in the same statement when one is runnable now
// (listeners hear it only if, and right after, the transaction commits — as pg-boss's own send does).
const INSERT = `
  with guard as (
    -- a queue that does not exist is an error (division by zero), never a job silently not written
    select 1 / count(*)::int as ok from ${PGBOSS_SCHEMA}.queue where name = $2
  ), ins as (${jobInsertSql(`select x.id, x.data, x.start_after, x.group_id from json_to_recordset($1::text::json) as x(id uuid, data jsonb, start_after timestamptz, group_id text)`, '$2', true)}),
  woken as (select pg_notify(${WAKE_CHANNEL_SQL}, $2) from ins where $3::boolean and start_after <= ${PGBOSS_SCHEMA}.job_now() limit 1)
  select ins.id from guard left join ins on true where guard.ok = 1 and (select count(*) from woken) >= 0`;

export interface JobRow {
  id: string;
  data: unknown;
  /** Not before this time; now when absent. */
  startAfter?: Date;
  /** pg-boss group (workers may cap how many jobs of one group run at once: groupConcurrency). */
  groupId?: string;
}

type Sql = postgres.Sql | postgres.TransactionSql;

/**
 * Inserts jobs of one queue on `sql` (a postgres.js transaction or pool). `wake`: notify the queue's
 * workers when a job is runnable now. Returns the ids inserted (a job whose id existed is skipped).
 */
export async function insertJobs(sql: Sql, queue: string, jobs: readonly JobRow[], wake: boolean): Promise<string[]> {
  const rows = JSON.stringify(jobs.map((j) => ({ id: j.id, data: j.data, start_after: j.startAfter?.toISOString() ?? null, group_id: j.groupId ?? null })));
  const inserted = await sql.unsafe(INSERT, [rows, queue, wake], { prepare: true });
  return inserted.flatMap((r) => (r.id ? [r.id as string] : []));
}

/** One job; its id, or null when a job with that id existed. */
export async function insertJob(sql: Sql, queue: string, job: JobRow, wake: boolean): Promise<string | null> {
  return (await insertJobs(sql, queue, [job], wake))[0] ?? null;
}

/** Refuses to run against a pg-boss schema this module was not written for. */
export async function assertQueueSchema(sql: postgres.Sql): Promise<void> {
  const rows = await sql.unsafe(`select version from ${PGBOSS_SCHEMA}.version`);
  const version = Number(rows[0]?.version);
  if (version !== PGBOSS_SCHEMA_VERSION) {
    throw new Error(
      `pg-boss schema version is ${version}, but server/queue/insert-job.ts writes jobs for version ${PGBOSS_SCHEMA_VERSION}: ` +
        'check the job columns against the new pg-boss release, then update PGBOSS_SCHEMA_VERSION',
    );
  }
}
