// Webhook attempts are kept WEBHOOK_ATTEMPT_RETENTION_DAYS (≥ 30, the delivery history the console and the
// API show), then pruned by the periodic sweep. Only attempts go: a delivery keeps its status, counters and
// times (nothing references an attempt, an attempt references its delivery), so a receiver's history ends,
// its deliveries do not.
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { deleteInBatches } from '@/db/delete-in-batches';

export interface PruneOptions {
  now: Date;
  retentionDays: number;
  /** Rows per DELETE: each batch is its own short statement, so a big table never takes one giant delete. */
  batchSize?: number;
  /** Batches per call: the sweep runs every minute, a backlog goes over several runs. */
  maxBatches?: number;
}

export async function pruneWebhookAttempts(db: DbOrTx, opts: PruneOptions): Promise<number> {
  const cutoff = new Date(opts.now.getTime() - opts.retentionDays * 86_400_000).toISOString();
  return deleteInBatches(
    db,
    (limit) => sql`
      delete from webhook_attempts where id in (
        select id from webhook_attempts where created_at < ${cutoff}::timestamptz order by created_at limit ${limit})`,
    opts,
  );
}
