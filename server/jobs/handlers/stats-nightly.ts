// stats.nightly (cron): recomputes today and the two Beijing days before.
import { nightlyRange } from '@/server/stats/consume';
import { recomputeStats } from '@/server/stats/rollup';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.statsNightly,
  work: { batchSize: 1, pollingIntervalSeconds: 30 },
  async run(_p, deps) {
    const { from, to } = nightlyRange(deps.clock.now());
    await recomputeStats(deps.db, from, to);
    return { from, to };
  },
});
