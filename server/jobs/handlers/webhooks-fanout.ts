// webhooks.fanout: outbox relay batches become one delivery per matching endpoint (server/webhooks/deliveries.ts).
// A fetched batch of relay passes is fanned out at once. While the payment queue is behind, the loop rests
// BACKLOG_DEFER_MS between batches (server/queue/backlog.ts); the deliveries are due from their events' time,
// so the dispatcher's own bound on waiting still counts from the payment.
import { log } from '@/server/log';
import { QUEUE } from '@/server/queue/catalogue';
import { fanoutEvents } from '@/server/webhooks/deliveries';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.webhooksFanout,
  work: { batchSize: 20, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1, localConcurrency: 2 },
  run: (p, deps) => fanoutEvents(deps, p.eventIds),
  async batch(jobs, deps) {
    if (jobs.length < 2) return new Map();
    try {
      const done = await fanoutEvents(
        deps,
        jobs.flatMap((j) => j.payload.eventIds),
      );
      return new Map(jobs.map((j) => [j.id, done]));
    } catch (err) {
      log('webhooks').warn({ err: err instanceof Error ? err.message : String(err) }, 'batched fan-out failed: jobs run one by one');
      return new Map();
    }
  },
  holdAfter: (_size, _elapsedMs, deps) => (deps.paymentBacklog?.behind() ? deps.env.BACKLOG_DEFER_MS : 0),
});
