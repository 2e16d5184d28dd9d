// console.export: one CSV export (server/console/exports.ts does the work).
import type { Db } from '@/db/client';
import { runOrdersExport } from '@/server/console/exports';
import { loadEnv } from '@/server/env';

export function consoleExport(db: Db, exportId: string): Promise<string> {
  const env = loadEnv();
  return runOrdersExport(db, exportId, { dataDir: env.DATA_DIR, maxRows: env.EXPORT_MAX_ROWS, linkHours: env.EXPORT_LINK_HOURS });
}
