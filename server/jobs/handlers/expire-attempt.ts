// payment.expire-attempt: an attempt's time is up (or another attempt paid the order): query, close at WeChat, close here.
import { runExpiry } from '@/server/payments/compensation';
import { paymentContext } from '@/server/payments/context';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.expireAttempt,
  work: { batchSize: 5, burstWhenBatchFull: true, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  run: (p, deps) => runExpiry(deps.db, deps.gateway(), p.attemptId, paymentContext(deps, 'query'), p.force ?? false),
});
