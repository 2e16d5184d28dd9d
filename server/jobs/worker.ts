// The worker: one handler per queue. Runs inside the web process by default (instrumentation.ts) or alone
// (`npm run worker`); any number of workers share one Postgres and pg-boss hands each job to one of them.
import type { Job, JobResult, PgBoss, WorkOptions } from 'pg-boss';
import { getDb, type Db } from '@/db/client';
import { loadEnv } from '@/server/env';
import { closeAbandonedOrder, runActiveQuery, runExpiry } from '@/server/payments/compensation';
import { paymentContext } from '@/server/payments/context';
import { getGateway, type Gateway } from '@/server/payments/gateway';
import { executeRefund } from '@/server/payments/refunds';
import { getBoss, stopBoss } from './boss';
import { payloads, QUEUE, type Payload, type QueueName } from './catalogue';
import { markCommonPaymentsPaid, processNotification } from './handlers/process-notification';
import { sweep } from './handlers/sweep';
import { consoleExport } from './handlers/console-export';

interface Deps {
  db: Db;
  gateway: Gateway;
  scale: number;
  notifyUrl: string;
  notifyBatchWindowMs: number;
}

type Handler<Q extends QueueName> = (payload: Payload<Q>, deps: Deps) => Promise<unknown>;

/** What each queue does: parse (zod, versioned), then call the same domain function tests call. */
const HANDLERS: { [Q in QueueName]: Handler<Q> } = {
  [QUEUE.processNotification]: (p, d) => processNotification(d.db, p, paymentContext('notify')),
  [QUEUE.queryAttempt]: (p, d) => runActiveQuery(d.db, d.gateway, p.attemptId, p.step, paymentContext('query'), d.scale),
  [QUEUE.expireAttempt]: (p, d) => runExpiry(d.db, d.gateway, p.attemptId, paymentContext('query'), p.force ?? false),
  [QUEUE.closeOrder]: (p, d) => closeAbandonedOrder(d.db, p.orderId, paymentContext('query').renewWindowMs),
  [QUEUE.executeRefund]: (p, d) => executeRefund(d.db, d.gateway, p.refundId, d.notifyUrl),
  [QUEUE.sweep]: (_p, d) => sweep(d.db, { renewWindowMs: paymentContext('query').renewWindowMs }),
  [QUEUE.consoleExport]: (p, d) => consoleExport(d.db, p.exportId),
};

// A batch above 1 with burst mode: with batchSize 1 pg-boss waits a polling interval after every fetch.
// Jobs settle one by one (perJobResults), so one failing job never drags its batch-mates into a retry.
// NOTIFY wakes a worker when a job is created, not when a deferred job (startAfter) becomes due: queues of
// scheduled work (queries, expiries, order closes) poll every second so they run on time.
const WORK_OPTIONS: Record<QueueName, WorkOptions> = {
  [QUEUE.processNotification]: { batchSize: 25, burstWhenBatchFull: true, localConcurrency: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 10 },
  [QUEUE.queryAttempt]: { batchSize: 5, burstWhenBatchFull: true, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  [QUEUE.expireAttempt]: { batchSize: 5, burstWhenBatchFull: true, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  [QUEUE.closeOrder]: { batchSize: 5, burstWhenBatchFull: true, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  [QUEUE.executeRefund]: { batchSize: 5, burstWhenBatchFull: true, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 5 },
  [QUEUE.sweep]: { batchSize: 1, pollingIntervalSeconds: 5 },
  [QUEUE.consoleExport]: { batchSize: 1, pollingIntervalSeconds: 2 },
};

const SWEEP_CRON = '* * * * *';

let started = false;

async function register<Q extends QueueName>(boss: PgBoss, queue: Q, deps: Deps): Promise<void> {
  const options = { ...WORK_OPTIONS[queue], perJobResults: true as const };
  const work = boss.work as (name: string, options: WorkOptions, handler: (jobs: Job<unknown>[]) => Promise<JobResult[]>) => Promise<string>;
  await work.call(boss, queue, options, async (jobs: Job<unknown>[]) => {
    const started = performance.now();
    const results = await runBatch(queue, jobs, deps);
    // pg-boss fetches again as soon as this returns when a notification arrived meanwhile: at a few hundred
    // a second that is a fetch, a transaction and a completion for every one or two notifications. A short
    // batch holds the loop for the rest of the window (its payments are already committed and published;
    // only the next batch waits), so the next fetch takes what arrived meanwhile in one go. A full batch
    // (a backlog) goes on at once. The batch's jobs are marked complete after the hold: a worker dying in
    // it leaves them to expire and run again, which finds them processed (docs/benchmarks.md, change 2).
    const holdMs = queue === QUEUE.processNotification && jobs.length < (options.batchSize ?? 1) ? deps.notifyBatchWindowMs - (performance.now() - started) : 0;
    if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
    return results;
  });
}

async function runBatch<Q extends QueueName>(queue: Q, jobs: Job<unknown>[], deps: Deps): Promise<JobResult[]> {
  const handler = HANDLERS[queue];
  const results: JobResult[] = [];
  // Notifications: the common payment for the whole batch in one transaction first.
  const donePaid =
    queue === QUEUE.processNotification
      ? await markCommonPaymentsPaid(
          jobs.flatMap((j) => {
            const p = payloads[QUEUE.processNotification].safeParse(j.data);
            return p.success ? [p.data.inboxId] : [];
          }),
          paymentContext('notify'),
        )
      : new Set<number>();
  for (const job of jobs) {
    const parsed = payloads[queue].safeParse(job.data);
    if (parsed.success && queue === QUEUE.processNotification && donePaid.has((parsed.data as Payload<typeof QUEUE.processNotification>).inboxId)) {
      results.push({ id: job.id, status: 'completed', output: { result: 'paid' } });
      continue;
    }
    if (!parsed.success) {
      // A payload we cannot read will not get better by retrying: straight to the dead letters.
      console.error(`[worker] ${queue} ${job.id}: invalid payload`);
      results.push({ id: job.id, status: 'deadletter', output: { error: 'invalid payload' } });
      continue;
    }
    try {
      const output = await handler(parsed.data as Payload<Q>, deps);
      results.push({ id: job.id, status: 'completed', output: { result: output ?? null } });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      console.error(`[worker] ${queue} ${job.id} failed: ${message}`);
      results.push({ id: job.id, status: 'failed', output: { error: message.slice(0, 500) } });
    }
  }
  return results;
}

export async function startWorker(): Promise<void> {
  if (started) return;
  started = true;
  const boss = await getBoss({ supervise: true });
  const env = loadEnv();
  const deps: Deps = {
    db: getDb(),
    gateway: getGateway(),
    scale: env.COMPENSATION_TIME_SCALE,
    notifyUrl: env.notifyUrl,
    notifyBatchWindowMs: env.NOTIFY_BATCH_WINDOW_MS,
  };
  for (const queue of Object.values(QUEUE)) await register(boss, queue, deps);
  await boss.schedule(QUEUE.sweep, SWEEP_CRON, { version: 1 });
  console.log('[worker] started');
}

export async function stopWorker(): Promise<void> {
  if (!started) return;
  started = false;
  // Graceful: stop fetching, let in-flight jobs finish (or expire back to the queue), close the pool.
  await stopBoss(15_000);
}
