// What the console shows of refunds: the dialog's figures for one order, and the refunds list with its
// inboxes (waiting for approval, ABNORMAL, CLOSED, PROCESSING for over a day), each row saying what to do.
import { and, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { orders, paymentAttempts, refunds } from '@/db/schema';
import { paymentFiguresOf } from './request';
import { MAX_REFUNDS_PER_PAYMENT, REASON_HIDDEN_AT_OR_BELOW_FEN } from './rules';

export const REFUND_INBOXES = ['all', 'approval', 'abnormal', 'closed', 'stuck'] as const;
export type RefundInbox = (typeof REFUND_INBOXES)[number];

/** PROCESSING this long is worth a human's look (WeChat usually settles within minutes, closes within 7 days). */
export const STUCK_AFTER_MS = 24 * 3600_000;

export async function refundDialogFigures(db: DbOrTx, orderId: string, now: Date) {
  const figures = await paymentFiguresOf(db, orderId, now);
  const [order] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, orderId));
  if (!figures || !order) return null;
  return {
    ...figures,
    orderStatus: order.status,
    refundable:
      (order.status === 'paid' || order.status === 'partially_refunded') && figures.refundableFen > 0 && figures.daysLeft >= 0 && figures.refundsLeft > 0,
    maxRefunds: MAX_REFUNDS_PER_PAYMENT,
    reasonHiddenAtOrBelowFen: REASON_HIDDEN_AT_OR_BELOW_FEN,
  };
}

function inboxWhere(inbox: RefundInbox, now: Date): SQL | undefined {
  switch (inbox) {
    case 'approval':
      return eq(refunds.status, 'pending_approval');
    case 'abnormal':
      return eq(refunds.status, 'abnormal');
    case 'closed':
      // A closed refund already re-applied needs nothing more.
      return and(eq(refunds.status, 'closed'), sql`not exists (select 1 from refunds r2 where r2.replaces_refund_id = ${refunds.id})`);
    case 'stuck':
      return and(inArray(refunds.status, ['requested', 'processing']), lt(refunds.createdAt, new Date(now.getTime() - STUCK_AFTER_MS)));
    default:
      return undefined;
  }
}

export async function listRefunds(db: DbOrTx, input: { inbox: RefundInbox; limit: number }, now: Date) {
  const rows = await db
    .select({
      id: refunds.id,
      orderId: refunds.orderId,
      outRefundNo: refunds.outRefundNo,
      refundId: refunds.refundId,
      amountFen: refunds.amountFen,
      reason: refunds.reason,
      kind: refunds.kind,
      status: refunds.status,
      initiatedBy: refunds.initiatedBy,
      requestedByEmail: refunds.requestedByEmail,
      requestedById: refunds.requestedById,
      decidedByEmail: refunds.decidedByEmail,
      lastError: refunds.lastError,
      nextQueryAt: refunds.nextQueryAt,
      sendAfter: refunds.sendAfter,
      abnormalResolution: refunds.abnormalResolution,
      replacesRefundId: refunds.replacesRefundId,
      createdAt: refunds.createdAt,
      updatedAt: refunds.updatedAt,
      outTradeNo: paymentAttempts.outTradeNo,
      orderAmountFen: orders.amountFen,
    })
    .from(refunds)
    .innerJoin(paymentAttempts, eq(paymentAttempts.id, refunds.attemptId))
    .innerJoin(orders, eq(orders.id, refunds.orderId))
    .where(inboxWhere(input.inbox, now))
    .orderBy(desc(refunds.createdAt))
    .limit(input.limit);
  const counts = await db
    .select({
      approval: sql<number>`count(*) filter (where ${refunds.status} = 'pending_approval')::int`,
      abnormal: sql<number>`count(*) filter (where ${refunds.status} = 'abnormal' and ${refunds.abnormalResolution} is null)::int`,
      closed: sql<number>`count(*) filter (where ${refunds.status} = 'closed' and not exists (select 1 from refunds r2 where r2.replaces_refund_id = ${refunds.id}))::int`,
      stuck: sql<number>`count(*) filter (where ${refunds.status} in ('requested', 'processing') and ${refunds.createdAt} < ${new Date(now.getTime() - STUCK_AFTER_MS).toISOString()}::timestamptz)::int`,
    })
    .from(refunds);
  return {
    rows: rows.map((r) => ({ ...r, ageMs: now.getTime() - r.createdAt.getTime() })),
    counts: counts[0] ?? { approval: 0, abnormal: 0, closed: 0, stuck: 0 },
  };
}
