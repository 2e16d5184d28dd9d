// pg-boss itself: installing its schema and the queues at start-up, and the worker's own instance (fetch,
// complete, retries, maintenance, cron). Enqueueing needs no instance: it is an INSERT in the caller's
// transaction (./enqueue.ts), so web processes never start pg-boss.
import { PgBoss } from 'pg-boss';
import postgres from 'postgres';
import { log } from '@/server/log';
import { throttledErrorLog } from '@/server/throttled-log';
import { allQueueDefinitions } from './catalogue';
import { assertQueueSchema, PGBOSS_SCHEMA } from './insert-job';

export interface BossOptions {
  url: string;
  /** Size of pg-boss's own pool (beside postgres.js's). */
  max: number;
  /** How often expired jobs (a worker died holding them) go back to the queue. */
  superviseIntervalSeconds: number;
  /** Process name for pg_stat_activity. */
  processName: string;
}

function newBoss(opts: BossOptions & { worker: boolean }): PgBoss {
  const boss = new PgBoss({
    connectionString: opts.url,
    max: opts.max,
    application_name: `${opts.processName}-pgboss`,
    // Wake workers by LISTEN/NOTIFY within milliseconds of a commit instead of a polling interval.
    useListenNotify: opts.worker,
    supervise: opts.worker,
    superviseIntervalSeconds: opts.superviseIntervalSeconds,
    schedule: opts.worker,
  });
  // An outage makes pg-boss emit an error per poll and per worker: each cause once a minute.
  boss.on('error', throttledErrorLog(log('pg-boss'), 'pg-boss error'));
  return boss;
}

async function createQueues(boss: PgBoss): Promise<void> {
  for (const queue of allQueueDefinitions()) {
    // Sequential on purpose: concurrent createQueue calls race on pg-boss's own tables.
    const { name, policy: _policy, partition: _partition, ...mutable } = queue;
    // A queue's policy is fixed at creation; everything else follows the catalogue on every start.
    if (await boss.getQueue(name)) await boss.updateQueue(name, mutable);
    else await boss.createQueue(name, queue);
  }
}

/**
 * Installs (or migrates) pg-boss's schema and creates every queue, once, before any web or worker
 * process starts — run by every entry point right after the app's own migrations. Refuses a pg-boss
 * schema that our job INSERT was not written for.
 */
/**
 * The order timeline reads an order's job runs from pg-boss's table by the id in their payload (an
 * attempt, a refund or the order). pg-boss has no index for that, so a timeline would scan every job; this
 * one is ours, partial so that jobs about no such subject (the notify path's) never maintain it. On the
 * partitioned parent, so every queue's partition has it, present and future.
 */
export const JOB_SUBJECT_INDEX = `
  create index if not exists scanpay_job_subject_idx on ${PGBOSS_SCHEMA}.job
  ((coalesce(data->>'attemptId', data->>'refundId', data->>'orderId')))
  where coalesce(data->>'attemptId', data->>'refundId', data->>'orderId') is not null`;

export async function ensureQueues(url: string): Promise<void> {
  const boss = newBoss({ url, max: 2, superviseIntervalSeconds: 30, processName: 'scanpay-boot', worker: false });
  await boss.start();
  try {
    await createQueues(boss);
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await assertQueueSchema(sql);
    await sql.unsafe(JOB_SUBJECT_INDEX);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A worker's pg-boss: started, queues brought in line with the catalogue (a worker started alone is self-sufficient). */
export async function startWorkerBoss(opts: BossOptions): Promise<PgBoss> {
  const boss = newBoss({ ...opts, worker: true });
  await boss.start();
  await createQueues(boss);
  return boss;
}
