// payment.execute-refund: a requested refund sent to WeChat (outside any transaction), or one step of a
// PROCESSING refund's active-query schedule (the refund domain schedules each step as a delayed job).
import { QUEUE } from '@/server/queue/catalogue';
import { executeRefund } from '@/server/refunds/execute';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.executeRefund,
  // Delayed jobs (spacing, query steps) are not woken by NOTIFY when due: poll every second so they run on time.
  work: { batchSize: 5, burstWhenBatchFull: true, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  run: (p, deps) => executeRefund(deps.db, { env: deps.env, clock: deps.clock, gateway: deps.gateway(), notifyUrl: deps.env.notifyUrl }, p.refundId),
});
