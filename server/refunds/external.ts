// Refunds made outside Scanpay (in WeChat's merchant platform) that reconciliation finds in a bill: recorded
// as kind 'external' so the order's refunded amount and status, the refundable figures and the events agree
// with WeChat's books.
import { eq } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { refunds } from '@/db/schema';
import { recordEvent } from '@/server/orders/state';
import type { RefundRow, RefundStatus } from './rules';
import { applyRefundStatus, fromWechatStatus } from './status';

export interface ExternalRefund {
  orderId: string;
  attemptId: string;
  outRefundNo: string;
  refundId: string;
  amountFen: number;
  /** WeChat's status ('SUCCESS' | 'PROCESSING' | 'CLOSED' | 'ABNORMAL') or ours ('succeeded', ...). */
  status: string;
  source: 'bill';
}

/**
 * Records a refund found in a bill, in the caller's transaction. A number we already hold (our own refund)
 * only takes the bill's status; a new one is inserted as external and, if it succeeded, moves the order.
 * Returns the row and whether it was new.
 */
export async function recordExternalRefund(tx: Tx, e: ExternalRefund): Promise<{ refund: RefundRow; created: boolean }> {
  const status: RefundStatus = fromWechatStatus(e.status) ?? (e.status as RefundStatus);
  const wechatStatus = { succeeded: 'SUCCESS', processing: 'PROCESSING', closed: 'CLOSED', abnormal: 'ABNORMAL' }[status as string];
  if (!wechatStatus) throw new Error(`recordExternalRefund: unknown status ${e.status}`);
  const [inserted] = await tx
    .insert(refunds)
    .values({
      orderId: e.orderId,
      attemptId: e.attemptId,
      outRefundNo: e.outRefundNo,
      refundId: e.refundId,
      amountFen: e.amountFen,
      reason: '商户平台退款',
      kind: 'external',
      initiatedBy: 'bill',
      // Inserted as WeChat's "processing" so the status change below writes what any refund's does.
      status: 'processing',
      acceptedAt: new Date(),
    })
    .onConflictDoNothing({ target: refunds.outRefundNo })
    .returning();
  if (inserted) {
    await recordEvent(tx, {
      orderId: e.orderId,
      attemptId: e.attemptId,
      type: 'refund.external',
      source: 'bill',
      data: { refundRowId: inserted.id, outRefundNo: e.outRefundNo, refundId: e.refundId, amountFen: e.amountFen },
    });
  }
  await applyRefundStatus(tx, e.outRefundNo, { status: wechatStatus, refundId: e.refundId }, 'bill');
  const [row] = await tx.select().from(refunds).where(eq(refunds.outRefundNo, e.outRefundNo));
  return { refund: row!, created: Boolean(inserted) };
}
