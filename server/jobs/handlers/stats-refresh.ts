// stats.refresh (cron, each minute): recomputes the slices of the last ten minutes (see refreshRecent).
import { refreshRecent } from '@/server/stats/consume';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.statsRefresh,
  work: { batchSize: 1, pollingIntervalSeconds: 5 },
  run: (_p, deps) => refreshRecent(deps.db, deps.clock.now()),
});
