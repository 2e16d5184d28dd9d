// reconciliation.run: a manual run over a date range, with progress (server/reconciliation/pipeline.ts).
import { QUEUE } from '@/server/queue/catalogue';
import { executeRun } from '@/server/reconciliation/pipeline';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.reconciliationRun,
  work: { batchSize: 1, pollingIntervalSeconds: 2 },
  run: (p, deps) => executeRun(deps, p.runId),
});
