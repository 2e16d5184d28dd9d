// Contract of server/queue/insert-job.ts with pg-boss: for every queue of the catalogue, the job row we
// write equals the row pg-boss's own `send` writes for the same payload and options (pg-boss is pinned;
// a new release that changes its job columns fails here first).
import { randomUUID } from 'node:crypto';
import { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allQueueDefinitions } from '@/server/queue/catalogue';
import { assertQueueSchema, insertJob, insertJobs, PGBOSS_SCHEMA_VERSION } from '@/server/queue/insert-job';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
let boss: PgBoss;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  boss = new PgBoss({ connectionString: process.env.DATABASE_URL!, max: 2, supervise: false, schedule: false });
  await boss.start();
});
afterAll(async () => {
  // The probe jobs must not reach the next file's workers (they would dead-letter them as unreadable).
  await h?.db.$client.unsafe(`delete from pgboss.job where data ? 'probe' or data = '{"version":1}'::jsonb`);
  await boss?.stop({ graceful: false, close: true });
  await h?.close();
});

// Every column pg-boss sets for a job, minus the ones that differ by nature (id, times).
const JOB_COLUMNS = `name, data, priority, state, retry_limit, retry_count, retry_delay, retry_backoff, retry_delay_max,
  expire_seconds, deletion_seconds, singleton_key, singleton_on, group_id, group_tier, policy, dead_letter,
  heartbeat_seconds, blocked, blocking, pending_dependencies, trace_context, keep_until - start_after as retention,
  start_after <= now() as runnable, case when start_after > now() + interval '1 minute' then start_after end as deferred_until`;

async function job(id: string) {
  const rows = await h.db.$client.unsafe(`select ${JOB_COLUMNS} from pgboss.job where id = $1`, [id]);
  return rows[0];
}

it.each(allQueueDefinitions().map((q) => [q.name]))('writes the job pg-boss would write: %s', async (queue) => {
  const data = { version: 1, probe: randomUUID() };
  const later = new Date(Date.now() + 3_600_000);
  for (const startAfter of [undefined, later]) {
    const ours = randomUUID();
    const theirs = randomUUID();
    await insertJob(h.db.$client, queue, { id: ours, data, startAfter }, false);
    await boss.send(queue, data, { id: theirs, startAfter });
    expect(await job(ours)).toEqual(await job(theirs));
  }
});

it('refuses a queue that does not exist instead of writing nothing', async () => {
  await expect(insertJob(h.db.$client, 'no.such.queue', { id: randomUUID(), data: {} }, false)).rejects.toThrow(/division by zero/);
});

it('is idempotent on the job id', async () => {
  const id = randomUUID();
  const queue = allQueueDefinitions()[0]!.name;
  expect(await insertJobs(h.db.$client, queue, [{ id, data: { version: 1 } }], false)).toEqual([id]);
  expect(await insertJobs(h.db.$client, queue, [{ id, data: { version: 1 } }], false)).toEqual([]);
});

it('checks the pg-boss schema version it was written for', async () => {
  await expect(assertQueueSchema(h.db.$client)).resolves.toBeUndefined();
  const [row] = await h.db.$client.unsafe('select version from pgboss.version');
  expect(Number(row!.version)).toBe(PGBOSS_SCHEMA_VERSION);
});
