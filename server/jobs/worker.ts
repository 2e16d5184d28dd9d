// The worker: pg-boss fetches, the registry's handlers run. Inside the web process under `npm run dev`
// (instrumentation.ts) or alone (`npm run worker`, the worker process of `npm start`); any number of
// workers share one Postgres and pg-boss hands each job to one of them. Nothing here knows a queue.
import type { Job, JobResult, PgBoss, WorkOptions } from 'pg-boss';
import type { AppDeps } from '@/server/deps';
import { log, rootLogger, withLogContext } from '@/server/log';
import { payloads, type QueueName } from '@/server/queue/catalogue';
import { createPaymentBacklog } from '@/server/queue/backlog';
import { startWorkerBoss } from '@/server/queue/boss';
import type { JobHandler } from './handler';
import { HANDLERS, SCHEDULES } from './registry';
import { outboxConsumers } from '@/server/outbox/consumers';
import { startOutboxRelay } from '@/server/outbox/relay';
import { startMetricsFlush } from '@/server/metrics/process-metrics';
import { startDeliveryDispatcher } from '@/server/webhooks/dispatcher';

export interface Worker {
  stop(): Promise<void>;
}

const logger = () => log('worker');

async function register(boss: PgBoss, handler: JobHandler<QueueName>, deps: AppDeps): Promise<void> {
  // Jobs settle one by one (perJobResults), so one failing job never drags its batch-mates into a retry.
  const configured = typeof handler.work === 'function' ? handler.work(deps) : handler.work;
  const options = { ...configured, perJobResults: true as const };
  const work = boss.work as (name: string, options: WorkOptions, fn: (jobs: Job<unknown>[]) => Promise<JobResult[]>) => Promise<string>;
  await work.call(boss, handler.queue, options, async (jobs: Job<unknown>[]) => {
    const started = performance.now();
    const results = await runBatch(handler, jobs, deps);
    const holdMs = handler.holdAfter?.(jobs.length, performance.now() - started, deps) ?? 0;
    if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
    return results;
  });
}

export async function runBatch(handler: JobHandler<QueueName>, jobs: Job<unknown>[], deps: AppDeps): Promise<JobResult[]> {
  const schema = payloads[handler.queue];
  const parsed = jobs.map((job) => ({ job, payload: schema.safeParse(job.data) }));
  const valid = parsed.flatMap(({ job, payload }) => (payload.success ? [{ id: job.id, payload: payload.data }] : []));
  const done =
    handler.batch && valid.length
      ? await withLogContext({ queue: handler.queue, jobIds: valid.map((j) => j.id) }, () => handler.batch!(valid as never, deps))
      : new Map<string, unknown>();
  const results: JobResult[] = [];
  for (const { job, payload } of parsed) {
    // Made only when a line is written: a child logger per job costs more than the job's own bookkeeping.
    const jobLog = () => logger().child({ queue: handler.queue, jobId: job.id });
    if (!payload.success) {
      // A payload we cannot read will not get better by retrying: straight to the dead letters.
      jobLog().error('invalid payload: dead-lettered');
      results.push({ id: job.id, status: 'deadletter', output: { error: 'invalid payload' } });
      continue;
    }
    if (done.has(job.id)) {
      results.push({ id: job.id, status: 'completed', output: { result: done.get(job.id) ?? null } });
      continue;
    }
    try {
      const output = await withLogContext({ queue: handler.queue, jobId: job.id }, () => handler.run(payload.data as never, deps));
      if (rootLogger().isLevelEnabled('debug')) jobLog().debug({ result: output ?? null }, 'job done');
      results.push({ id: job.id, status: 'completed', output: { result: output ?? null } });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      jobLog().warn({ err: message.slice(0, 500) }, 'job failed: pg-boss retries it');
      results.push({ id: job.id, status: 'failed', output: { error: message.slice(0, 500) } });
    }
  }
  return results;
}

/** Starts the workers of every queue with these dependencies. */
export async function startWorker(processDeps: AppDeps): Promise<Worker> {
  processDeps.gateway(); // credentials checked before any job is fetched
  // The payment handler reports its batches here; the outbox's consumers give way while it is behind.
  const deps: AppDeps = { ...processDeps, paymentBacklog: processDeps.paymentBacklog ?? createPaymentBacklog(processDeps.clock) };
  const boss = await startWorkerBoss({
    url: deps.env.DATABASE_URL!,
    max: deps.env.PGBOSS_POOL_MAX,
    superviseIntervalSeconds: deps.env.PGBOSS_SUPERVISE_SECONDS,
    processName: deps.env.SCANPAY_PROCESS_NAME,
  });
  for (const handler of HANDLERS) await register(boss, handler, deps);
  for (const s of SCHEDULES) await boss.schedule(s.queue, s.cron, { version: 1 }, s.tz ? { tz: s.tz } : undefined);
  const relay = startOutboxRelay(deps.db, outboxConsumers(deps.env), deps.env.OUTBOX_RELAY_INTERVAL_MS);
  const stopFlush = startMetricsFlush(deps.db);
  // Webhook attempts are not jobs: the delivery rows are their own schedule (server/webhooks/dispatcher.ts).
  const deliveries = await startDeliveryDispatcher(deps);
  logger().info({ queues: HANDLERS.length }, 'worker started');
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      stopFlush();
      await relay.stop();
      await deliveries.stop();
      // Graceful: stop fetching, let in-flight jobs finish (or expire back to the queue), close the pool.
      await boss.stop({ graceful: true, timeout: 15_000, close: true });
    },
  };
}
