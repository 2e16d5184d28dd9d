// console.export: one CSV export of a console list (orders or audit log) (server/console/exports.ts does the work).
import { runExport } from '@/server/console/exports';
import { QUEUE } from '@/server/queue/catalogue';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.consoleExport,
  work: { batchSize: 1, pollingIntervalSeconds: 2 },
  run: (p, deps) => runExport(deps.db, p.exportId, { dataDir: deps.env.DATA_DIR, maxRows: deps.env.EXPORT_MAX_ROWS, linkHours: deps.env.EXPORT_LINK_HOURS }),
});
