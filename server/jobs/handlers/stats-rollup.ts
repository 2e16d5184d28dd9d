// stats.rollup: the statistics consumer of the outbox. A fetched batch is handled at once (the union of
// its events' slices recomputed once), so rollup lag stays flat when payments come in bursts.
import { consumeEvents } from '@/server/stats/consume';
import { QUEUE } from '@/server/queue/catalogue';
import { log } from '@/server/log';
import { defineHandler } from '../handler';

// A recompute costs about the same however few events it covers (it reads its whole slice), so under a
// steady stream the consumer would recompute back to back and take CPU from the notify path on a small
// machine. Holding the fetch loop for twice the batch's own time caps it at a third of its time, and lets
// the next batch gather more events; the cap keeps the added lag bounded. While the payment queue is
// behind, the loop rests BACKLOG_DEFER_MS instead (server/queue/backlog.ts): the figures wait, payments do not.
const HOLD_FACTOR = 2;
const MAX_HOLD_MS = 750;

export default defineHandler({
  queue: QUEUE.statsRollup,
  work: { batchSize: 20, pollingIntervalSeconds: 1 },
  run: (p, deps) => consumeEvents(deps.db, p.eventIds),
  holdAfter: (_size, elapsedMs, deps) => {
    const rest = Math.min(MAX_HOLD_MS, HOLD_FACTOR * elapsedMs);
    return deps.paymentBacklog?.behind() ? Math.max(deps.env.BACKLOG_DEFER_MS, rest) : rest;
  },
  async batch(jobs, deps) {
    try {
      const slices = await consumeEvents(
        deps.db,
        jobs.flatMap((j) => j.payload.eventIds),
      );
      return new Map(jobs.map((j) => [j.id, slices]));
    } catch (err) {
      log('stats').warn({ err: err instanceof Error ? err.message : String(err) }, 'batched rollup failed: jobs run one by one');
      return new Map();
    }
  },
});
