// payment.close-order: an unpaid order whose renew window passed without a new QR code.
import { closeAbandonedOrder } from '@/server/payments/compensation';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.closeOrder,
  work: { batchSize: 5, burstWhenBatchFull: true, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  run: (p, deps) => closeAbandonedOrder(deps.db, p.orderId, deps.env.ORDER_RENEW_WINDOW_MINUTES * 60_000),
});
