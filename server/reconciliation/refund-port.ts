// The refund domain's entry points reconciliation needs, in one file: at merge they point at the refund
// domain's functions of the same shape (recordExternalRefund, its status-from-query), and nothing else in
// server/reconciliation/ writes a refund.
import { eq } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { orders, refunds } from '@/db/schema';
import { writeOutboxEvent } from '@/server/outbox/write';
import { applyRefundStatus } from '@/server/payments/refunds';
import { recordEvent, transitionOrder } from '@/server/payments/state';

export interface ExternalRefund {
  orderId: string;
  attemptId: string;
  outRefundNo: string;
  refundId: string;
  amountFen: number;
  /** WeChat's status as the bill showed it. */
  status: 'succeeded' | 'processing' | 'closed' | 'abnormal';
  source: 'bill';
}

/**
 * A refund made outside Scanpay (the merchant platform): recorded as kind 'external'; when it succeeded the
 * order's refunded amount and status move, and `refund.succeeded` goes to business systems. Idempotent per
 * out_refund_no. Returns whether it was new.
 */
export async function importExternalRefund(tx: Tx, r: ExternalRefund): Promise<boolean> {
  const [row] = await tx
    .insert(refunds)
    .values({
      orderId: r.orderId,
      attemptId: r.attemptId,
      outRefundNo: r.outRefundNo,
      refundId: r.refundId,
      amountFen: r.amountFen,
      reason: 'made outside Scanpay',
      kind: 'external',
      status: r.status,
    })
    .onConflictDoNothing()
    .returning({ id: refunds.id });
  if (!row) return false;
  const data = { outRefundNo: r.outRefundNo, refundId: r.refundId, amountFen: r.amountFen, kind: 'external' };
  await recordEvent(tx, { orderId: r.orderId, attemptId: r.attemptId, type: 'refund.external', source: r.source, data });
  if (r.status !== 'succeeded') return true;
  const [order] = await tx.select().from(orders).where(eq(orders.id, r.orderId)).for('update');
  if (!order) throw new Error(`order ${r.orderId} not found`);
  const refundedFen = order.refundedFen + r.amountFen;
  await transitionOrder(tx, {
    orderId: r.orderId,
    attemptId: r.attemptId,
    to: refundedFen >= order.amountFen ? 'refunded' : 'partially_refunded',
    source: r.source,
    event: 'order.refunded',
    patch: { refundedFen },
    data,
  });
  await writeOutboxEvent(tx, {
    topic: 'refund.succeeded',
    orderId: r.orderId,
    dedupeKey: `refund.succeeded:${r.outRefundNo}`,
    payload: { orderId: r.orderId, status: 'succeeded', source: r.source, ...data },
  });
  return true;
}

/** WeChat's current word on one of our refunds (a query after the bill's snapshot disagreed). */
export async function applyQueriedRefundStatus(tx: Tx, outRefundNo: string, wechat: { status: string; refundId?: string | null }): Promise<boolean> {
  return (await applyRefundStatus(tx, outRefundNo, wechat, 'query')) !== null;
}
