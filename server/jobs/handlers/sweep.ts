// maintenance.sweep (cron, one at a time): re-enqueues whatever the happy path left behind, prunes clutter.
import { sweep } from '@/server/payments/sweep';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.sweep,
  work: { batchSize: 1, pollingIntervalSeconds: 5 },
  run: (_p, deps) => sweep(deps.db, { now: deps.clock.now(), renewWindowMs: deps.env.ORDER_RENEW_WINDOW_MINUTES * 60_000 }),
});
