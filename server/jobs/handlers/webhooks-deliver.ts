// webhooks.deliver: attempts of deliveries, a fetched batch at a time, sent side by side and their outcomes
// written together (server/webhooks/deliveries.ts). A full batch fetches again at once: with one job per
// fetch, pg-boss waits its polling interval after every job, which held a worker to about one delivery per
// slot per second. pg-boss's group concurrency (one group per endpoint) caps the attempts in flight to one
// endpoint as jobs are handed out (see server/env.ts), so a slow receiver holds a few of this worker's
// WEBHOOK_WORKER_CONCURRENCY slots. A worker that has worked through a burst refreshes the queue's planner
// statistics, which that fetch is planned from (server/queue/statistics.ts).
import type { WorkOptions } from 'pg-boss';
import type { AppEnv } from '@/server/env';
import type { Db } from '@/db/client';
import { QUEUE } from '@/server/queue/catalogue';
import { burstAnalyzer, type BurstAnalyzer } from '@/server/queue/statistics';
import { deliverAttempt, deliverAttempts } from '@/server/webhooks/deliveries';
import { createSender, type Sender } from '@/server/webhooks/send';
import type { AppDeps } from '@/server/deps';
import { log } from '@/server/log';
import { defineHandler } from '../handler';

/** Attempts per fetch: enough to spare pg-boss most of its fetches and settles (its fetch and complete are
 * most of the database's work per delivery), few enough that one slow receiver in a batch holds back little
 * (the loop fetches again only when the whole batch is done). */
const MAX_BATCH = 8;

/**
 * How the worker fetches deliveries: WEBHOOK_WORKER_CONCURRENCY slots as fetch loops of one batch each. A
 * batch is never larger than the per-endpoint cap: pg-boss hands out at most the cap to one endpoint, and a
 * fetch that comes back short waits for the polling interval, so with a single endpoint a larger batch
 * would leave every loop waiting a second between fetches.
 */
export function deliverWorkOptions(env: Pick<AppEnv, 'WEBHOOK_WORKER_CONCURRENCY' | 'WEBHOOK_ENDPOINT_CONCURRENCY'>): WorkOptions {
  const batchSize = Math.min(MAX_BATCH, env.WEBHOOK_WORKER_CONCURRENCY, env.WEBHOOK_ENDPOINT_CONCURRENCY);
  return {
    batchSize,
    burstWhenBatchFull: true,
    pollingIntervalSeconds: 1,
    notifyPollingIntervalSeconds: 1,
    localConcurrency: Math.ceil(env.WEBHOOK_WORKER_CONCURRENCY / batchSize),
    groupConcurrency: env.WEBHOOK_ENDPOINT_CONCURRENCY,
  };
}

let sender: Sender | undefined;
let senderAllowsPrivate: boolean | undefined;

function senderFor(deps: AppDeps): Sender {
  // Live mode never reaches private addresses; the simulator's local receivers are allowed.
  const allowPrivate = deps.env.wechatpayMode !== 'live';
  if (!sender || senderAllowsPrivate !== allowPrivate) {
    sender = createSender({ allowPrivate });
    senderAllowsPrivate = allowPrivate;
  }
  return sender;
}

const analyzers = new WeakMap<Db, BurstAnalyzer>();
function analyzerFor(db: Db): BurstAnalyzer {
  let a = analyzers.get(db);
  if (!a) analyzers.set(db, (a = burstAnalyzer(db, QUEUE.webhooksDeliver)));
  return a;
}

export default defineHandler({
  queue: QUEUE.webhooksDeliver,
  work: (deps) => deliverWorkOptions(deps.env),
  // The batch's attempts at once, their outcomes written together. If that throws (nothing was written),
  // the runner runs each job again alone and fails it to pg-boss if it throws again; an attempt whose
  // request had gone out is sent once more (at least once, never lost).
  batch: async (jobs, deps) => {
    try {
      const outcomes = await deliverAttempts(
        deps,
        senderFor(deps),
        jobs.map((j) => j.payload),
      );
      analyzerFor(deps.db).inserted(jobs.length);
      return new Map(jobs.map((j, i) => [j.id, outcomes[i]]));
    } catch (err) {
      log('webhooks').warn({ err: err instanceof Error ? err.message : String(err) }, 'batched delivery failed: jobs run one by one');
      return new Map();
    }
  },
  run: (p, deps) => deliverAttempt(deps, senderFor(deps), p),
});
