// stats.rollup: the statistics consumer of the outbox. A fetched batch is handled at once (the union of
// its events' hours recomputed once), so rollup lag stays flat when payments come in bursts.
import { consumeEvents } from '@/server/stats/consume';
import { QUEUE } from '@/server/queue/catalogue';
import { log } from '@/server/log';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.statsRollup,
  work: { batchSize: 20, pollingIntervalSeconds: 1 },
  run: (p, deps) => consumeEvents(deps.db, p.eventIds),
  async batch(jobs, deps) {
    try {
      const hours = await consumeEvents(
        deps.db,
        jobs.flatMap((j) => j.payload.eventIds),
      );
      return new Map(jobs.map((j) => [j.id, hours]));
    } catch (err) {
      log('stats').warn({ err: err instanceof Error ? err.message : String(err) }, 'batched rollup failed: jobs run one by one');
      return new Map();
    }
  },
});
