// The one domain function every path that learns a payment's truth goes through (DESIGN §2.4, §2.6):
// notify, active query, the shopper's "I've paid", the nightly bill. It cross-checks WeChat's record
// against ours and moves the state machines with compare-and-set, in the caller's transaction.
import { and, eq, inArray } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { orderEvents, orders, paymentAttempts } from '@/db/schema';
import type { Transaction } from '@/server/wechatpay/schemas';
import { parseRfc3339 } from '@/server/wechatpay/time';
import { publishOrderStatus } from '@/server/live/publish';

export type PaymentSource = 'notify' | 'query' | 'shopper' | 'bill' | 'admin';

export type PaymentOutcome =
  | 'paid' // this call moved the order to paid
  | 'duplicate' // already recorded: nothing changed
  | 'not_paid' // WeChat says the attempt is not paid (yet)
  | 'mismatch' // WeChat's record disagrees with ours: order frozen for review
  | 'late_payment' // paid an attempt we had closed, or a second attempt of a paid order: frozen for review
  | 'unknown_order'; // no attempt with this out_trade_no

export interface Expected {
  mchid: string;
  appid: string;
}

/** Differences between WeChat's transaction and our attempt; empty when they agree. */
export function crossCheck(
  t: Transaction,
  attempt: { outTradeNo: string; amountFen: number },
  expected: Expected,
): string[] {
  const problems: string[] = [];
  if (t.mchid !== expected.mchid) problems.push(`mchid ${t.mchid} ≠ ${expected.mchid}`);
  if (t.appid !== expected.appid) problems.push(`appid ${t.appid} ≠ ${expected.appid}`);
  if (t.out_trade_no !== attempt.outTradeNo) problems.push(`out_trade_no ${t.out_trade_no} ≠ ${attempt.outTradeNo}`);
  if (t.amount?.total !== attempt.amountFen) problems.push(`amount ${t.amount?.total} ≠ ${attempt.amountFen}`);
  if ((t.amount?.currency ?? 'CNY') !== 'CNY') problems.push(`currency ${t.amount?.currency} ≠ CNY`);
  if (!t.transaction_id) problems.push('transaction_id missing');
  return problems;
}

/**
 * Applies WeChat's view of one transaction. Idempotent: a second call with the same facts returns
 * 'duplicate' and changes nothing. Must run inside a transaction (row locks, events and the live-status
 * notification commit together).
 */
export async function applyPaymentResult(
  tx: Tx,
  input: { transaction: Transaction; source: PaymentSource; expected: Expected },
): Promise<{ outcome: PaymentOutcome; orderId?: string }> {
  const t = input.transaction;
  if (!t.out_trade_no) return { outcome: 'unknown_order' };
  const [attempt] = await tx
    .select()
    .from(paymentAttempts)
    .where(eq(paymentAttempts.outTradeNo, t.out_trade_no))
    .for('update');
  if (!attempt) return { outcome: 'unknown_order' };
  const [order] = await tx.select().from(orders).where(eq(orders.id, attempt.orderId)).for('update');

  if (t.trade_state !== 'SUCCESS') return { outcome: 'not_paid', orderId: order.id };

  if (attempt.status === 'paid') {
    return { outcome: 'duplicate', orderId: order.id };
  }

  const problems = crossCheck(t, attempt, input.expected);
  const now = new Date();
  if (problems.length) {
    await freezeForReview(tx, order.id, attempt.id, input.source, 'payment.mismatch', { problems, transactionId: t.transaction_id });
    return { outcome: 'mismatch', orderId: order.id };
  }

  const paidAt = safeTime(t.success_time) ?? now;
  const moved = await tx
    .update(paymentAttempts)
    .set({ status: 'paid', transactionId: t.transaction_id, paidAt, updatedAt: now })
    .where(and(eq(paymentAttempts.id, attempt.id), inArray(paymentAttempts.status, ['created', 'awaiting_payment', 'closed'])))
    .returning({ id: paymentAttempts.id });
  if (!moved.length) return { outcome: 'duplicate', orderId: order.id };

  if (attempt.status === 'closed' || order.status !== 'awaiting_payment') {
    // Money arrived for an attempt we had given up on, or for an order already paid by another attempt.
    // Never silently accept it: record it and hold the order for the merchant (refund policy: async issue).
    await freezeForReview(tx, order.id, attempt.id, input.source, 'payment.late', {
      transactionId: t.transaction_id,
      attemptStatus: attempt.status,
      orderStatus: order.status,
    });
    return { outcome: 'late_payment', orderId: order.id };
  }

  const updated = await tx
    .update(orders)
    .set({ status: 'paid', transactionId: t.transaction_id, paidAt, paidVia: input.source, updatedAt: now })
    .where(and(eq(orders.id, order.id), eq(orders.status, 'awaiting_payment')))
    .returning({ id: orders.id });
  if (!updated.length) return { outcome: 'duplicate', orderId: order.id };
  await tx.insert(orderEvents).values({
    orderId: order.id,
    attemptId: attempt.id,
    type: 'order.paid',
    source: input.source,
    data: { transactionId: t.transaction_id, amountFen: t.amount?.total, successTime: t.success_time ?? null },
  });
  await publishOrderStatus(tx, { orderId: order.id, status: 'paid' });
  return { outcome: 'paid', orderId: order.id };
}

async function freezeForReview(
  tx: Tx,
  orderId: string,
  attemptId: string,
  source: PaymentSource,
  type: string,
  data: Record<string, unknown>,
): Promise<void> {
  await tx.insert(orderEvents).values({ orderId, attemptId, type, source, data });
  // Only a non-terminal order moves to review; a paid order stays paid (terminal states never regress),
  // the event above is what surfaces the problem.
  const [moved] = await tx
    .update(orders)
    .set({ status: 'review', updatedAt: new Date() })
    .where(and(eq(orders.id, orderId), inArray(orders.status, ['awaiting_payment', 'closed'])))
    .returning({ id: orders.id });
  if (moved) await publishOrderStatus(tx, { orderId, status: 'review' });
}

/** WeChat's success_time, or null when absent or malformed (a bad timestamp must not block a payment). */
function safeTime(value: string | undefined): Date | null {
  if (!value) return null;
  try {
    return parseRfc3339(value);
  } catch {
    return null;
  }
}
