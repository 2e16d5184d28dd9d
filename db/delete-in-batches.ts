// Pruning a big table in short statements: one long DELETE would hold its locks and bloat the WAL in one go.
import type { SQL } from 'drizzle-orm';
import type { DbOrTx } from './client';

/**
 * Runs `deleteBatch(batchSize)` (a DELETE of at most that many rows) until one deletes fewer, or
 * `maxBatches` have run (a backlog then goes over several calls). Returns how many rows went.
 */
export async function deleteInBatches(
  db: DbOrTx,
  deleteBatch: (batchSize: number) => SQL,
  opts: { batchSize?: number; maxBatches?: number } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? 5_000;
  const maxBatches = opts.maxBatches ?? 20;
  let deleted = 0;
  for (let i = 0; i < maxBatches; i++) {
    const gone = await db.execute(deleteBatch(batchSize));
    deleted += gone.count;
    if (gone.count < batchSize) break;
  }
  return deleted;
}
