// Webhook attempts are kept WEBHOOK_ATTEMPT_RETENTION_DAYS (≥ 30, the delivery history the console and the
// API show), then pruned by the periodic sweep. Only attempts go: a delivery keeps its status, counters and
// times (nothing references an attempt, an attempt references its delivery), so a receiver's history ends,
// its deliveries do not.
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';

export interface PruneOptions {
  now: Date;
  retentionDays: number;
  /** Rows per DELETE: each batch is its own short statement, so a big table never takes one giant delete. */
  batchSize?: number;
  /** Batches per call: the sweep runs every minute, a backlog goes over several runs. */
  maxBatches?: number;
}

export async function pruneWebhookAttempts(db: DbOrTx, opts: PruneOptions): Promise<number> {
  const cutoff = new Date(opts.now.getTime() - opts.retentionDays * 86_400_000);
  const batchSize = opts.batchSize ?? 5_000;
  const maxBatches = opts.maxBatches ?? 20;
  let pruned = 0;
  for (let i = 0; i < maxBatches; i++) {
    const gone = await db.execute(sql`
      delete from webhook_attempts where id in (
        select id from webhook_attempts where created_at < ${cutoff.toISOString()}::timestamptz order by created_at limit ${batchSize})`);
    pruned += gone.count;
    if (gone.count < batchSize) break;
  }
  return pruned;
}
