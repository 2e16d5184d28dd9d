// webhooks.deliver: one attempt of one delivery. Each fetch takes a small batch whose attempts are sent side by
// side, and a full batch fetches again at once: with one job per fetch, pg-boss waits its polling interval
// after every job, which held a worker to about one delivery per slot per second. pg-boss's group
// concurrency (one group per endpoint) caps the attempts in flight to one endpoint as jobs are handed out
// (see server/env.ts), so a slow receiver holds a few of this worker's WEBHOOK_WORKER_CONCURRENCY slots.
import type { WorkOptions } from 'pg-boss';
import type { AppEnv } from '@/server/env';
import { QUEUE } from '@/server/queue/catalogue';
import { deliverAttempt } from '@/server/webhooks/deliveries';
import { createSender, type Sender } from '@/server/webhooks/send';
import type { AppDeps } from '@/server/deps';
import { defineHandler } from '../handler';

/** Attempts per fetch: enough to spare pg-boss a fetch per delivery, few enough that one slow receiver in a
 * batch holds back little (the next fetch waits for the whole batch). */
const MAX_BATCH = 4;

/** How the worker fetches deliveries: WEBHOOK_WORKER_CONCURRENCY slots as fetch loops of one batch each. */
export function deliverWorkOptions(env: Pick<AppEnv, 'WEBHOOK_WORKER_CONCURRENCY' | 'WEBHOOK_ENDPOINT_CONCURRENCY'>): WorkOptions {
  const batchSize = Math.min(MAX_BATCH, env.WEBHOOK_WORKER_CONCURRENCY);
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

export default defineHandler({
  queue: QUEUE.webhooksDeliver,
  work: (deps) => deliverWorkOptions(deps.env),
  // The batch's attempts at once; one that threw is left to the runner, which runs it again alone and
  // fails it to pg-boss if it throws again (a stale job, one already sent, does nothing).
  batch: async (jobs, deps) => {
    const s = senderFor(deps);
    const settled = await Promise.allSettled(jobs.map((job) => deliverAttempt(deps, s, job.payload)));
    const done = new Map<string, unknown>();
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled') done.set(jobs[i]!.id, r.value);
    });
    return done;
  },
  run: (p, deps) => deliverAttempt(deps, senderFor(deps), p),
});
