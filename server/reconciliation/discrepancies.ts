// The discrepancy aggregate: the one module that knows its states and what each change writes. Found once
// per (class, subject): a recomputed day finds the same key and writes nothing new. On first finding, the
// order's timeline (path `bill`) and a `reconciliation.discrepancy` outbox event are written with it.
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx, Tx } from '@/db/client';
import { discrepancies } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import { writeOutboxEvent } from '@/server/outbox/write';
import { recordEvent } from '@/server/orders/state';

export { DISCREPANCY_CLASSES, DISCREPANCY_STATES, type DiscrepancyClass, type DiscrepancyState } from './classes';
import type { DiscrepancyClass } from './classes';

/** What a person may do with an open one. */
export const HUMAN_ACTIONS = { received: 'received', ignore: 'ignored', force_post: 'force_posted' } as const;

export interface Finding {
  billDate: string;
  class: DiscrepancyClass;
  subjectKey: string;
  state: 'open' | 'auto_resolved';
  orderId?: string | null;
  attemptId?: string | null;
  outTradeNo?: string | null;
  transactionId?: string | null;
  outRefundNo?: string | null;
  ours: Record<string, unknown>;
  bill: Record<string, unknown>;
  proposedFix: string;
  /** What an automatic repair did. */
  resolution?: Record<string, unknown> | null;
}

export async function findDiscrepancy(db: DbOrTx, cls: DiscrepancyClass, subjectKey: string) {
  const [row] = await db
    .select()
    .from(discrepancies)
    .where(and(eq(discrepancies.class, cls), eq(discrepancies.subjectKey, subjectKey)));
  return row ?? null;
}

/**
 * Records a finding. New: inserted with its timeline event and outbox event. Known and still open: a repair
 * that now succeeded updates it (timeline event `reconciliation.repaired`). Known otherwise: nothing.
 * Returns the row's id and whether anything was written.
 */
export async function recordFinding(tx: Tx, f: Finding): Promise<{ id: string; written: boolean }> {
  const resolvedAt = f.state === 'auto_resolved' ? new Date() : null;
  const [row] = await tx
    .insert(discrepancies)
    .values({ ...f, resolution: f.resolution ?? null, resolvedBy: f.state === 'auto_resolved' ? 'system' : null, resolvedAt })
    .onConflictDoUpdate({
      target: [discrepancies.class, discrepancies.subjectKey],
      set: {
        state: f.state,
        resolution: f.resolution ?? null,
        resolvedBy: f.state === 'auto_resolved' ? 'system' : null,
        resolvedAt,
        // A repair may have made the order (a lost order rebuilt): the finding then points at it.
        orderId: sql`coalesce(excluded.order_id, ${discrepancies.orderId})`,
        attemptId: sql`coalesce(excluded.attempt_id, ${discrepancies.attemptId})`,
        updatedAt: new Date(),
      },
      setWhere: sql`${discrepancies.state} = 'open' and excluded.state <> 'open'`,
    })
    .returning({ id: discrepancies.id, inserted: sql<boolean>`(xmax = 0)` });
  if (!row) {
    const existing = await findDiscrepancy(tx, f.class, f.subjectKey);
    return { id: existing!.id, written: false };
  }
  const data = { discrepancyId: row.id, class: f.class, billDate: f.billDate, state: f.state, proposedFix: f.proposedFix, resolution: f.resolution ?? null };
  if (f.orderId)
    await recordEvent(tx, {
      orderId: f.orderId,
      attemptId: f.attemptId ?? null,
      type: row.inserted ? 'reconciliation.discrepancy' : 'reconciliation.repaired',
      source: 'bill',
      data,
    });
  await writeOutboxEvent(tx, {
    topic: 'reconciliation.discrepancy',
    orderId: f.orderId ?? null,
    dedupeKey: `reconciliation.discrepancy:${row.id}:${f.state}`,
    payload: {
      ...data,
      outTradeNo: f.outTradeNo ?? null,
      transactionId: f.transactionId ?? null,
      outRefundNo: f.outRefundNo ?? null,
      ours: f.ours,
      bill: f.bill,
    },
  });
  return { id: row.id, written: true };
}

/** A person's decision on an open discrepancy: a reason is required; audited with both states. */
/** What a force-post booked (in the decision's transaction); the decision is refused if it throws. */
export type PostInLedger = (
  tx: Tx,
  before: typeof discrepancies.$inferSelect,
) => Promise<{ orderId: string; attemptId?: string | null; did: Record<string, unknown> }>;

export async function decideDiscrepancy(
  db: DbOrTx,
  actor: AuditActor,
  input: { id: string; action: keyof typeof HUMAN_ACTIONS; reason: string },
  post?: PostInLedger,
): Promise<typeof discrepancies.$inferSelect> {
  const reason = input.reason.trim();
  if (reason.length < 3) throw new AppError('BAD_REQUEST', 'A reason is required');
  // Force-post means something was booked: never a bare change of state (see force-post.ts).
  if ((input.action === 'force_post') !== (post !== undefined)) throw new AppError('BAD_REQUEST', 'Force-post goes through forcePostDiscrepancy');
  const to = HUMAN_ACTIONS[input.action];
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(discrepancies).where(eq(discrepancies.id, input.id)).for('update');
    if (!before) throw new AppError('NOT_FOUND', 'No such discrepancy');
    if (before.state !== 'open') throw new AppError('CONFLICT', 'This discrepancy is already settled');
    const posted = post ? await post(tx, before) : null;
    const orderId = before.orderId ?? posted?.orderId ?? null;
    const attemptId = before.attemptId ?? posted?.attemptId ?? null;
    const [after] = await tx
      .update(discrepancies)
      .set({
        state: to,
        reason,
        orderId,
        attemptId,
        ...(posted ? { resolution: { action: 'force_posted', ...posted.did } } : {}),
        resolvedBy: actor.email ?? actor.id ?? 'unknown',
        resolvedAt: new Date(),
        updatedAt: new Date(),
      })
      .where(eq(discrepancies.id, input.id))
      .returning();
    if (orderId) {
      await recordEvent(tx, {
        orderId,
        attemptId,
        type: `reconciliation.${to}`,
        source: 'admin',
        data: { discrepancyId: before.id, class: before.class, reason, ...(posted ? { did: posted.did } : {}) },
      });
    }
    await writeOutboxEvent(tx, {
      topic: 'reconciliation.discrepancy',
      orderId,
      dedupeKey: `reconciliation.discrepancy:${before.id}:${to}`,
      payload: { discrepancyId: before.id, class: before.class, billDate: before.billDate, state: to, reason, ...(posted ? { did: posted.did } : {}) },
    });
    await appendAudit(tx, actor, {
      action: `reconciliation.${input.action}`,
      objectType: 'discrepancy',
      objectId: before.id,
      before: { state: before.state, orderId: before.orderId },
      after: { state: to, orderId, ...(posted ? { did: posted.did } : {}) },
      reason,
    });
    return after!;
  });
}
