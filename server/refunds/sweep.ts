// The refunds' part of the periodic sweep: a refund the worker still drives whose job was lost (a crash
// between commit and enqueue is impossible, but a job can be discarded or dead-lettered) is queued again.
import { and, lt } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { refunds } from '@/db/schema';
import { QUEUE } from '@/server/queue/catalogue';
import { enqueue } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { drivenByWorker } from './status';

const LIMIT = 500;

/** Re-enqueues refunds untouched for `graceSeconds`; returns how many. One job per refund per minute at most. */
export async function sweepRefunds(db: Db, opts: { now?: Date; graceSeconds?: number } = {}): Promise<number> {
  const now = opts.now ?? new Date();
  const before = new Date(now.getTime() - (opts.graceSeconds ?? 30) * 1000);
  const bucket = Math.floor(now.getTime() / 60_000);
  return db.transaction(async (tx) => {
    const stale = await tx
      .select({ id: refunds.id, outRefundNo: refunds.outRefundNo })
      .from(refunds)
      .where(and(drivenByWorker, lt(refunds.updatedAt, before)))
      .limit(LIMIT);
    for (const r of stale) {
      await enqueue(tx, QUEUE.executeRefund, { version: 1, refundId: r.id }, { id: causeId('refund', r.outRefundNo, 'sweep', bucket) });
    }
    return stale.length;
  });
}
