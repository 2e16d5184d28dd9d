// webhooks.deliver: one attempt of one delivery. pg-boss's group concurrency (one group per endpoint)
// caps the attempts in flight to one endpoint across all workers (as jobs are handed out: see server/env.ts),
// so a slow receiver holds about WEBHOOK_ENDPOINT_CONCURRENCY of this worker's WEBHOOK_WORKER_CONCURRENCY slots.
import { QUEUE } from '@/server/queue/catalogue';
import { deliverAttempt } from '@/server/webhooks/deliveries';
import { createSender, type Sender } from '@/server/webhooks/send';
import { defineHandler } from '../handler';

let sender: Sender | undefined;
let senderAllowsPrivate: boolean | undefined;

export default defineHandler({
  queue: QUEUE.webhooksDeliver,
  work: (deps) => ({
    batchSize: 1,
    pollingIntervalSeconds: 1,
    notifyPollingIntervalSeconds: 1,
    localConcurrency: deps.env.WEBHOOK_WORKER_CONCURRENCY,
    groupConcurrency: deps.env.WEBHOOK_ENDPOINT_CONCURRENCY,
  }),
  run: (p, deps) => {
    // Live mode never reaches private addresses; the simulator's local receivers are allowed.
    const allowPrivate = deps.env.wechatpayMode !== 'live';
    if (!sender || senderAllowsPrivate !== allowPrivate) {
      sender = createSender({ allowPrivate });
      senderAllowsPrivate = allowPrivate;
    }
    return deliverAttempt(deps, sender, p);
  },
});
