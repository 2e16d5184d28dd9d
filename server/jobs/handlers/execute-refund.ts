// payment.execute-refund: a requested refund sent to WeChat (outside any transaction), or queried.
import { executeRefund } from '@/server/payments/refunds';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.executeRefund,
  work: { batchSize: 5, burstWhenBatchFull: true, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 5 },
  run: (p, deps) => executeRefund(deps.db, deps.gateway(), p.refundId, deps.env.notifyUrl),
});
