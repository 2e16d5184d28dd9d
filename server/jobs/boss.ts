// The pg-boss instance of this process: started lazily, queues created once, sequentially, at start-up.
// Web processes use it to enqueue inside their own transactions; worker processes also fetch from it.
import { PgBoss, type Db as IDatabase } from 'pg-boss';
import type postgres from 'postgres';
import { rawTransaction, type Tx } from '@/db/client';
import { log } from '@/server/log';
import { throttledErrorLog } from '@/server/throttled-log';
import { allQueueDefinitions, payloads, type Payload, type QueueName } from './catalogue';

interface BossHolder {
  boss?: PgBoss;
  starting?: Promise<PgBoss>;
}
const holder = globalThis as unknown as { __scanpayBoss?: BossHolder };
const state: BossHolder = (holder.__scanpayBoss ??= {});

export interface BossOptions {
  /** Workers run maintenance and scheduling; a web-only process need not. */
  supervise: boolean;
}

function newBoss(url: string, opts: BossOptions & { max?: number }): PgBoss {
  const boss = new PgBoss({
    connectionString: url,
    // pg-boss keeps its own pool beside postgres.js: sized deliberately (see docs/operations).
    max: opts.max ?? Number(process.env.PGBOSS_POOL_MAX ?? 6),
    application_name: `${process.env.SCANPAY_PROCESS_NAME ?? 'scanpay'}-pgboss`,
    // Wake workers by LISTEN/NOTIFY within milliseconds of a commit instead of a polling interval.
    useListenNotify: opts.supervise,
    supervise: opts.supervise,
    // How often expired jobs (a worker died holding them) go back to the queue.
    superviseIntervalSeconds: Number(process.env.PGBOSS_SUPERVISE_SECONDS ?? 30),
    schedule: opts.supervise,
  });
  // Once per cause per minute: during a database outage pg-boss reports every failed poll.
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
 * process starts — run by every entry point right after the app's own migrations.
 */
export async function ensureQueues(url: string): Promise<void> {
  const boss = newBoss(url, { supervise: false, max: 2 });
  await boss.start();
  try {
    await createQueues(boss);
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
}

async function createBoss(url: string, opts: BossOptions): Promise<PgBoss> {
  const boss = newBoss(url, opts);
  await boss.start();
  // Idempotent; cheap when the catalogue is unchanged. Keeps a worker started alone self-sufficient.
  if (opts.supervise) await createQueues(boss);
  return boss;
}

/** Starts pg-boss on first call (DATABASE_URL) and returns the shared instance. */
export function getBoss(opts: BossOptions = { supervise: false }): Promise<PgBoss> {
  if (state.boss) return Promise.resolve(state.boss);
  if (!state.starting) {
    const url = process.env.DATABASE_URL;
    if (!url) return Promise.reject(new Error('DATABASE_URL is not set'));
    state.starting = createBoss(url, opts).then(
      (boss) => {
        state.boss = boss;
        return boss;
      },
      (err) => {
        state.starting = undefined;
        throw err;
      },
    );
  }
  return state.starting;
}

export async function stopBoss(timeoutMs = 10_000): Promise<void> {
  const boss = state.boss ?? (await state.starting?.catch(() => undefined));
  state.boss = undefined;
  state.starting = undefined;
  if (boss) await boss.stop({ graceful: true, timeout: timeoutMs, close: true });
}

/**
 * pg-boss's SQL run on the caller's postgres.js transaction, as a prepared statement: the job row
 * commits or rolls back with the business write, and preparing it makes the enqueue markedly cheaper.
 */
export function transactionAdapter(tx: Tx): IDatabase {
  const sql: postgres.TransactionSql = rawTransaction(tx);
  return {
    async executeSql(text: string, values: unknown[] = []) {
      const rows = await sql.unsafe(text, values as postgres.ParameterOrJSON<never>[], { prepare: true });
      return { rows: [...rows] };
    },
  };
}

export interface EnqueueOptions {
  /** Derived from the cause (see causeId) so a repeated enqueue is a no-op. */
  id: string;
  startAfter?: Date | number;
}

/** Enqueues a validated payload inside `tx`. Returns the job id, or null if that id already existed. */
export async function enqueue<Q extends QueueName>(tx: Tx, queue: Q, data: Payload<Q>, options: EnqueueOptions): Promise<string | null> {
  const payload = payloads[queue].parse(data);
  const boss = await getBoss();
  return boss.send(queue, payload as object, { id: options.id, startAfter: options.startAfter, db: transactionAdapter(tx) });
}

/** pg-boss's own INSERT for one job, as `send` would run it: its SQL text and its one parameter. */
export interface PlannedEnqueue {
  text: string;
  /** `$1` of `text`: the job rows as JSON, as pg-boss built them (options, retry policy, trace context). */
  jobsJson: string;
}

/**
 * What `enqueue` would run, without running it: pg-boss builds the job and its INSERT, and a capturing
 * adapter keeps them. For a hot path that folds the enqueue into a statement of its own (the notify
 * ingestion: one round trip instead of four); everything about the job is still pg-boss's.
 */
export async function planEnqueue<Q extends QueueName>(queue: Q, data: Payload<Q>, options: EnqueueOptions): Promise<PlannedEnqueue> {
  const payload = payloads[queue].parse(data);
  const boss = await getBoss();
  let planned: PlannedEnqueue | undefined;
  const capture: IDatabase = {
    async executeSql(text: string, values: unknown[] = []) {
      if (planned || values.length !== 1 || typeof values[0] !== 'string') throw new Error('pg-boss send: unexpected statement shape');
      planned = { text, jobsJson: values[0] };
      return { rows: [{ id: options.id }] };
    },
  };
  await boss.send(queue, payload as object, { id: options.id, startAfter: options.startAfter, db: capture });
  if (!planned) throw new Error('pg-boss send ran no statement');
  return planned;
}
