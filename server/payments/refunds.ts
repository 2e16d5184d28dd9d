// Refunds of late and double payments (merchant refunds come with the admin issue). The refund row and
// its job are written in the transaction that discovers the late payment; the WeChat call happens in the
// job, outside any transaction, with an out_refund_no derived from the attempt so a retry can never
// refund twice (WeChat: "the same out_refund_no is the same refund").
import { and, eq, inArray } from 'drizzle-orm';
import type { Db, Tx } from '@/db/client';
import { alerts, paymentAttempts, refunds } from '@/db/schema';
import { enqueue } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { QUEUE } from '@/server/queue/catalogue';
import { WechatPayApiError } from '@/server/wechatpay/errors';
import type { Gateway } from './gateway';
import { recordEvent } from './state';

export type RefundRow = typeof refunds.$inferSelect;
type WechatRefundStatus = 'SUCCESS' | 'CLOSED' | 'PROCESSING' | 'ABNORMAL' | (string & {});

/** `LR` + the attempt's out_trade_no: stable, unique per attempt, within WeChat's 64 [A-Za-z0-9_-|*@]. */
export function latePaymentRefundNo(outTradeNo: string): string {
  return `LR${outTradeNo}`;
}

/** Records the refund of a late payment and enqueues its execution, in the caller's transaction. */
export async function requestLatePaymentRefund(
  tx: Tx,
  args: { orderId: string; attempt: typeof paymentAttempts.$inferSelect; reason: string },
): Promise<void> {
  const outRefundNo = latePaymentRefundNo(args.attempt.outTradeNo);
  const [row] = await tx
    .insert(refunds)
    .values({ orderId: args.orderId, attemptId: args.attempt.id, outRefundNo, amountFen: args.attempt.amountFen, reason: args.reason, kind: 'late_payment' })
    .onConflictDoNothing()
    .returning({ id: refunds.id });
  if (!row) return; // already requested
  await recordEvent(tx, { orderId: args.orderId, attemptId: args.attempt.id, type: 'refund.requested', source: 'system', data: { outRefundNo, amountFen: args.attempt.amountFen } });
  await enqueue(tx, QUEUE.executeRefund, { version: 1, refundId: row.id }, { id: causeId('refund', outRefundNo) });
}

const STATUS_MAP: Record<string, RefundRow['status']> = {
  SUCCESS: 'succeeded',
  CLOSED: 'closed',
  PROCESSING: 'processing',
  ABNORMAL: 'abnormal',
};

/**
 * Records WeChat's word on a refund (API response, query or REFUND.* notification). Terminal states
 * (succeeded, closed) never regress; the timeline gets one event per real change.
 */
export async function applyRefundStatus(
  tx: Tx,
  outRefundNo: string,
  wechat: { status: WechatRefundStatus; refundId?: string | null },
  source: 'notify' | 'query' | 'system',
): Promise<RefundRow | null> {
  const next = STATUS_MAP[wechat.status];
  if (!next) return null;
  const from: RefundRow['status'][] =
    next === 'processing' ? ['requested'] : next === 'abnormal' ? ['requested', 'processing'] : ['requested', 'processing', 'abnormal'];
  const [row] = await tx
    .update(refunds)
    .set({ status: next, refundId: wechat.refundId ?? undefined, updatedAt: new Date() })
    .where(and(eq(refunds.outRefundNo, outRefundNo), inArray(refunds.status, from)))
    .returning();
  if (!row) return null;
  await recordEvent(tx, { orderId: row.orderId, attemptId: row.attemptId, type: `refund.${next}`, source, data: { outRefundNo, refundId: wechat.refundId ?? null } });
  if (next === 'abnormal' || next === 'closed') {
    await tx.insert(alerts).values({
      kind: `refund_${next}`,
      orderId: row.orderId,
      message: `Refund ${outRefundNo} is ${next} at WeChat: the money did not go back; handle it by hand`,
      data: { outRefundNo },
    });
  }
  return row;
}

/**
 * Executes a requested refund at WeChat (network, outside any transaction) and records the answer.
 * Returns the refund's status afterwards. Retryable failures throw so the job retries with backoff.
 */
export async function executeRefund(db: Db, gateway: Gateway, refundId: string, notifyUrl: string): Promise<RefundRow['status']> {
  const [refund] = await db.select().from(refunds).where(eq(refunds.id, refundId));
  if (!refund) throw new Error(`refund ${refundId} not found`);
  if (refund.status !== 'requested' && refund.status !== 'processing') return refund.status;
  const [attempt] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.id, refund.attemptId));
  try {
    const answer =
      refund.status === 'requested'
        ? await gateway.client.createRefund({
            out_trade_no: attempt.outTradeNo,
            out_refund_no: refund.outRefundNo,
            reason: refund.reason,
            notify_url: notifyUrl,
            amount: { refund: refund.amountFen, total: attempt.amountFen, currency: 'CNY' },
          })
        : await gateway.client.queryRefund(refund.outRefundNo);
    const updated = await db.transaction((tx) =>
      applyRefundStatus(tx, refund.outRefundNo, { status: answer.status ?? 'PROCESSING', refundId: answer.refund_id }, 'query'),
    );
    return updated?.status ?? refund.status;
  } catch (err) {
    if (err instanceof WechatPayApiError && !err.retryable) {
      await db.transaction(async (tx) => {
        await tx.update(refunds).set({ lastError: `${err.code}: ${err.wechatMessage ?? ''}`.slice(0, 500), updatedAt: new Date() }).where(eq(refunds.id, refund.id));
        await applyRefundStatus(tx, refund.outRefundNo, { status: 'ABNORMAL' }, 'system');
      });
      return 'abnormal';
    }
    await db.update(refunds).set({ lastError: err instanceof Error ? err.message.slice(0, 500) : 'error', updatedAt: new Date() }).where(eq(refunds.id, refund.id));
    throw err;
  }
}
