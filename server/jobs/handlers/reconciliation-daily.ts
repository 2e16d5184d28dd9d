// reconciliation.daily: the 10:15 Beijing cron (server/reconciliation/pipeline.ts runDaily).
import { QUEUE } from '@/server/queue/catalogue';
import { runDaily } from '@/server/reconciliation/pipeline';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.reconciliationDaily,
  work: { batchSize: 1, pollingIntervalSeconds: 10 },
  run: async (_p, deps) => (await runDaily(deps)).map((r) => ({ date: r.date, status: r.status, findings: r.findings })),
});
