// maintenance.sweep (cron, one at a time): re-enqueues whatever the happy path left behind, prunes clutter.
// Each domain sweeps its own rows.
import { sweep } from '@/server/payments/sweep';
import { QUEUE } from '@/server/queue/catalogue';
import { sweepRefunds } from '@/server/refunds';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.sweep,
  work: { batchSize: 1, pollingIntervalSeconds: 5 },
  run: async (_p, deps) => {
    const now = deps.clock.now();
    const payments = await sweep(deps.db, { now, renewWindowMs: deps.env.ORDER_RENEW_WINDOW_MINUTES * 60_000 });
    return { ...payments, refunds: await sweepRefunds(deps.db, { now }) };
  },
});
