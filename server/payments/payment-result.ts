// The one domain function every path that learns a payment's truth goes through (DESIGN §2.4, §2.6):
// notify, active query, the shopper's "I've paid", expiry, the nightly bill. It cross-checks WeChat's
// record against ours and moves the state machines with compare-and-set, in the caller's transaction.
import { and, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { alerts, orders, paymentAttempts } from '@/db/schema';
import type { Transaction } from '@/server/wechatpay/schemas';
import { parseRfc3339 } from '@/server/wechatpay/time';
import { enqueue } from '@/server/jobs/boss';
import { QUEUE } from '@/server/jobs/catalogue';
import { causeId } from '@/server/jobs/ids';
import { requestLatePaymentRefund } from './refunds';
import { OPEN_ATTEMPT_STATUSES, recordEvent, transitionAttempt, transitionOrder, type Source } from './state';

export type PaymentSource = Exclude<Source, 'system'>;
export type LatePaymentPolicy = 'refund' | 'review';

export type PaymentOutcome =
  | 'paid' // this call moved the order to paid
  | 'duplicate' // already recorded: nothing changed
  | 'not_paid' // WeChat says the attempt is not paid (yet)
  | 'closed_at_wechat' // WeChat says the attempt is closed
  | 'mismatch' // WeChat's record disagrees with ours: order frozen for review, never paid
  | 'late_payment' // paid an attempt we had closed, or a second attempt of an already-paid order
  | 'unknown_order'; // no attempt with this out_trade_no

export interface PaymentContext {
  source: PaymentSource;
  expected: { mchid: string; appid: string };
  latePaymentPolicy: LatePaymentPolicy;
  /** How long an order whose QR code expired stays open for a new code (ORDER_RENEW_WINDOW_MINUTES). */
  renewWindowMs: number;
}

/** Differences between WeChat's transaction and our attempt; empty when they agree. */
export function crossCheck(
  t: Transaction,
  attempt: { outTradeNo: string; amountFen: number },
  expected: PaymentContext['expected'],
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
 * Applies WeChat's view of one transaction. Idempotent: the same facts a second time return 'duplicate'
 * and change nothing. Must run inside a transaction: row locks, timeline, outbox, follow-up jobs and the
 * live-status notification commit together.
 */
export async function applyPaymentResult(
  tx: Tx,
  t: Transaction,
  ctx: PaymentContext,
): Promise<{ outcome: PaymentOutcome; orderId?: string }> {
  if (!t.out_trade_no) return { outcome: 'unknown_order' };
  const [attempt] = await tx.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, t.out_trade_no)).for('update');
  if (!attempt) return { outcome: 'unknown_order' };
  // Lock order after attempt, everywhere: one lock order means no deadlock between paths.
  const [order] = await tx.select().from(orders).where(eq(orders.id, attempt.orderId)).for('update');
  const now = new Date();
  await tx.update(paymentAttempts).set({ lastCheckedAt: now }).where(eq(paymentAttempts.id, attempt.id));

  if (t.trade_state === 'CLOSED') return { outcome: 'closed_at_wechat', orderId: order.id };
  // REFUND means it was paid and a refund started: for our purposes it was paid.
  if (t.trade_state !== 'SUCCESS' && t.trade_state !== 'REFUND') return { outcome: 'not_paid', orderId: order.id };
  if (attempt.status === 'paid') return { outcome: 'duplicate', orderId: order.id };

  const problems = crossCheck(t, attempt, ctx.expected);
  if (problems.length) {
    const moved = await transitionOrder(tx, {
      orderId: order.id,
      attemptId: attempt.id,
      to: 'review',
      source: ctx.source,
      event: 'payment.mismatch',
      patch: { reviewReason: 'mismatch' },
      data: { problems, transactionId: t.transaction_id ?? null },
    });
    if (!moved) await recordEvent(tx, { orderId: order.id, attemptId: attempt.id, type: 'payment.mismatch', source: ctx.source, data: { problems } });
    await tx.insert(alerts).values({
      kind: 'payment_mismatch',
      orderId: order.id,
      message: `WeChat's record of ${attempt.outTradeNo} does not match ours: ${problems.join('; ')}`,
      data: { problems, transactionId: t.transaction_id ?? null, source: ctx.source },
    });
    return { outcome: 'mismatch', orderId: order.id };
  }

  const paidAt = safeTime(t.success_time) ?? now;
  // Another attempt that paid the order (a late payment on a closed attempt does not: it is refunded or
  // reviewed, so a shopper paying the new QR code after the old one still pays the order).
  const otherPaid = await tx
    .select({ id: paymentAttempts.id })
    .from(paymentAttempts)
    .where(
      and(
        eq(paymentAttempts.orderId, order.id),
        eq(paymentAttempts.status, 'paid'),
        isNull(paymentAttempts.latePayment),
        ne(paymentAttempts.id, attempt.id),
      ),
    );
  const late = attempt.status === 'closed' || order.status !== 'awaiting_payment' || otherPaid.length > 0;
  const kind = attempt.status === 'closed' ? 'after_close' : 'double';

  const paidAttempt = await transitionAttempt(tx, attempt.id, 'paid', {
    transactionId: t.transaction_id,
    paidAt,
    paidVia: ctx.source,
    latePayment: late ? kind : null,
  });
  if (!paidAttempt) return { outcome: 'duplicate', orderId: order.id };

  if (late) {
    await handleLatePayment(tx, { order, attempt: paidAttempt, kind, ctx, transactionId: t.transaction_id! });
    return { outcome: 'late_payment', orderId: order.id };
  }

  await transitionOrder(tx, {
    orderId: order.id,
    attemptId: attempt.id,
    to: 'paid',
    from: ['awaiting_payment'],
    source: ctx.source,
    event: 'order.paid',
    patch: { transactionId: t.transaction_id, paidAt, paidVia: ctx.source },
    data: { transactionId: t.transaction_id, amountFen: t.amount?.total, outTradeNo: attempt.outTradeNo },
  });
  // The order is paid: any other attempt still open must not take money too. Close it at WeChat now,
  // from a job (no network call inside this transaction).
  for (const other of await openAttempts(tx, order.id)) {
    await enqueue(tx, QUEUE.expireAttempt, { version: 1, attemptId: other.id, force: true }, { id: causeId('expire', other.id, 'order-paid') });
  }
  return { outcome: 'paid', orderId: order.id };
}

async function handleLatePayment(
  tx: Tx,
  args: {
    order: typeof orders.$inferSelect;
    attempt: typeof paymentAttempts.$inferSelect;
    kind: 'after_close' | 'double';
    ctx: PaymentContext;
    transactionId: string;
  },
): Promise<void> {
  const { order, attempt, kind, ctx } = args;
  const data = { outTradeNo: attempt.outTradeNo, transactionId: args.transactionId, amountFen: attempt.amountFen, kind, policy: ctx.latePaymentPolicy };
  await recordEvent(tx, { orderId: order.id, attemptId: attempt.id, type: 'payment.late', source: ctx.source, data });
  if (ctx.latePaymentPolicy === 'refund') {
    await requestLatePaymentRefund(tx, { orderId: order.id, attempt, reason: kind === 'after_close' ? '订单已关闭，自动退款' : '重复支付，自动退款' });
    return;
  }
  // Review policy: hold the order for a human. A paid order stays paid (terminal states never regress);
  // the alert is what surfaces it.
  await transitionOrder(tx, {
    orderId: order.id,
    attemptId: attempt.id,
    to: 'review',
    from: ['awaiting_payment', 'closed'],
    source: ctx.source,
    event: 'order.review',
    patch: { reviewReason: 'late_payment' },
    data,
  });
  await tx.insert(alerts).values({
    kind: 'late_payment',
    orderId: order.id,
    message: `Payment ${args.transactionId} for ${attempt.outTradeNo} arrived ${kind === 'after_close' ? 'after the attempt was closed' : 'for an order already paid'}; held for review`,
    data,
  });
}

/** Open attempts of an order (for "is anything still payable?"). */
export async function openAttempts(tx: Tx, orderId: string) {
  return tx
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.orderId, orderId), inArray(paymentAttempts.status, [...OPEN_ATTEMPT_STATUSES])));
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
