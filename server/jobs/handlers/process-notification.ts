// payment.process-notification: a stored WeChat notification through the payment domain.
import { log } from '@/server/log';
import { paymentContext } from '@/server/payments/context';
import { processNotification, processNotificationBatch } from '@/server/payments/process-notification';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

// A backlog drains in batches of 100: most of a batch's cost in Postgres is per batch, not per row (pg-boss's
// fetch and completion, the planning of each statement), so larger batches spread it thinner
// (docs/benchmarks.md, stop 26).
const BATCH_SIZE = 100;

export default defineHandler({
  queue: QUEUE.processNotification,
  // A batch above 1 with burst mode (with batchSize 1 pg-boss waits a polling interval after every fetch);
  // NOTIFY wakes the worker, polling is only the backstop.
  work: { batchSize: BATCH_SIZE, burstWhenBatchFull: true, localConcurrency: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 10 },
  run: (p, deps) => processNotification(deps.db, p.inboxId, paymentContext(deps, 'notify')),
  // The common payments of the whole batch in one transaction; the rest go one by one.
  async batch(jobs, deps) {
    deps.paymentBacklog?.sawBatch(jobs.length);
    const byInbox = new Map(jobs.map((j) => [j.payload.inboxId, j.id]));
    const done = await processNotificationBatch(deps.db, [...byInbox.keys()], paymentContext(deps, 'notify')).catch((err: unknown) => {
      log('worker').warn({ err: err instanceof Error ? err.message : String(err) }, 'batch path skipped; processing one by one');
      return new Set<number>();
    });
    return new Map([...done].map((inboxId) => [byInbox.get(inboxId)!, 'paid']));
  },
  // pg-boss fetches again as soon as a batch returns when a notification arrived meanwhile: at a few
  // hundred a second that is a fetch, a transaction and a completion for every one or two notifications.
  // A short batch holds the loop for the rest of the window (its payments are already committed and
  // published; only the next batch waits), so the next fetch takes what arrived meanwhile in one go. A
  // full batch (a backlog) goes on at once. The jobs are marked complete after the hold: a worker dying in
  // it leaves them to expire and run again, which finds them processed.
  holdAfter: (size, elapsedMs, deps) => (size < BATCH_SIZE ? deps.env.NOTIFY_BATCH_WINDOW_MS - elapsedMs : 0),
});
