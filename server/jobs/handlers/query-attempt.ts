// payment.query-attempt: one step of an open attempt's active-query schedule.
import { runActiveQuery } from '@/server/payments/compensation';
import { paymentContext } from '@/server/payments/context';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.queryAttempt,
  // NOTIFY wakes a worker when a job is created, not when a deferred job (startAfter) becomes due: queues
  // of scheduled work poll every second so they run on time.
  work: { batchSize: 5, burstWhenBatchFull: true, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  run: (p, deps) => runActiveQuery(deps.db, deps.gateway(), p.attemptId, p.step, paymentContext(deps, 'query'), deps.env.COMPENSATION_TIME_SCALE),
});
