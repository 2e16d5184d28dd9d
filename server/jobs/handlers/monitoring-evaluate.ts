// monitoring.evaluate (cron, each minute): the watchlists raise and resolve alerts.
import { evaluateWatchlists } from '@/server/monitoring/watchlists';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.monitoringEvaluate,
  work: { batchSize: 1, pollingIntervalSeconds: 5 },
  run: (_p, deps) => evaluateWatchlists(deps.db, { now: deps.clock.now() }),
});
