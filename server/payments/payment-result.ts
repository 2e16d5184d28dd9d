// What WeChat's record of a transaction means for our order, decided in ONE place (classifyPayment) for
// every path that learns a payment's truth (DESIGN §2.4, §2.6): notify (one by one or a whole batch),
// active query, the shopper's "I've paid", expiry, the nightly bill. The writes of "paid" are markPaid's
// (state.ts); everything here runs in the caller's transaction.
import { writeOutboxEvent } from '@/server/outbox/write';
import { and, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { alerts, orders, paymentAttempts } from '@/db/schema';
import { enqueue } from '@/server/queue/enqueue';
import { QUEUE } from '@/server/queue/catalogue';
import { causeId } from '@/server/queue/ids';
import type { Transaction } from '@/server/wechatpay/schemas';
import { parseRfc3339 } from '@/server/wechatpay/time';
import { requestLatePaymentRefund } from '@/server/refunds/request';
import { markPaid, OPEN_ATTEMPT_STATUSES, recordEvent, transitionOrder, type AttemptStatus, type OrderStatus, type Source } from '@/server/orders/state';

export type PaymentSource = Exclude<Source, 'system' | 'admin'>;
export type LatePaymentPolicy = 'refund' | 'review';

export type PaymentOutcome =
  | 'paid' // this call moved the order to paid
  | 'duplicate' // already recorded: nothing changed
  | 'not_paid' // WeChat says the attempt is not paid (yet)
  | 'closed_at_wechat' // WeChat says the attempt is closed
  | 'mismatch' // WeChat's record disagrees with ours: order frozen for review, never paid
  | 'conflict' // the attempt is paid with another transaction id: order frozen for review, alert
  | 'late_payment' // paid an attempt we had closed, or a second attempt of an already-paid order
  | 'unknown_order'; // no attempt with this out_trade_no

export interface PaymentContext {
  source: PaymentSource;
  expected: { mchid: string; appid: string };
  latePaymentPolicy: LatePaymentPolicy;
  /** How long an order whose QR code expired stays open for a new code (ORDER_RENEW_WINDOW_MINUTES). */
  renewWindowMs: number;
  /** The clock: paid_at when WeChat's success_time is missing or malformed. */
  now: () => Date;
}

/** Differences between WeChat's transaction and our attempt; empty when they agree. */
export function crossCheck(t: Transaction, attempt: { outTradeNo: string; amountFen: number }, expected: PaymentContext['expected']): string[] {
  const problems: string[] = [];
  if (t.mchid !== expected.mchid) problems.push(`mchid ${t.mchid} ≠ ${expected.mchid}`);
  if (t.appid !== expected.appid) problems.push(`appid ${t.appid} ≠ ${expected.appid}`);
  if (t.out_trade_no !== attempt.outTradeNo) problems.push(`out_trade_no ${t.out_trade_no} ≠ ${attempt.outTradeNo}`);
  if (t.amount?.total !== attempt.amountFen) problems.push(`amount ${t.amount?.total} ≠ ${attempt.amountFen}`);
  if ((t.amount?.currency ?? 'CNY') !== 'CNY') problems.push(`currency ${t.amount?.currency} ≠ CNY`);
  if (!t.transaction_id) problems.push('transaction_id missing');
  return problems;
}

/** What we know of the attempt and its order when a transaction comes in (read under lock). */
export interface PaymentSubject {
  attempt: { id: string; status: AttemptStatus; outTradeNo: string; amountFen: number; transactionId: string | null };
  order: { id: string; status: OrderStatus };
  /** Another attempt of the order already paid it (a late payment on a closed attempt does not count). */
  otherAttemptPaid: boolean;
}

export type PaymentVerdict =
  | { kind: 'not_paid' | 'closed_at_wechat' | 'duplicate' }
  | { kind: 'mismatch' | 'conflict'; problems: string[] }
  | { kind: 'paid'; paidAt: Date; late: 'after_close' | 'double' | null };

/** The decision, pure: every path and the batch path call this and nothing else. */
export function classifyPayment(t: Transaction, s: PaymentSubject, ctx: Pick<PaymentContext, 'expected' | 'now'>): PaymentVerdict {
  if (t.trade_state === 'CLOSED') return { kind: 'closed_at_wechat' };
  // REFUND means it was paid and a refund started: for our purposes it was paid.
  if (t.trade_state !== 'SUCCESS' && t.trade_state !== 'REFUND') return { kind: 'not_paid' };
  if (s.attempt.status === 'paid') {
    // A second, validly signed payment for an attempt we hold as paid by another transaction: money may
    // have been taken twice, or someone is replaying another order's payment. Never "duplicate".
    if (t.transaction_id && s.attempt.transactionId && t.transaction_id !== s.attempt.transactionId) {
      return { kind: 'conflict', problems: [`transaction_id ${t.transaction_id} ≠ recorded ${s.attempt.transactionId}`] };
    }
    return { kind: 'duplicate' };
  }
  const problems = crossCheck(t, s.attempt, ctx.expected);
  if (problems.length) return { kind: 'mismatch', problems };
  const late = s.attempt.status === 'closed' ? 'after_close' : s.order.status !== 'awaiting_payment' || s.otherAttemptPaid ? 'double' : null;
  return { kind: 'paid', paidAt: safeTime(t.success_time) ?? ctx.now(), late };
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
  opts: { inboxId?: number | null } = {},
): Promise<{ outcome: PaymentOutcome; orderId?: string }> {
  if (!t.out_trade_no) return { outcome: 'unknown_order' };
  const [attempt] = await tx.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, t.out_trade_no)).for('update');
  if (!attempt) return { outcome: 'unknown_order' };
  // Lock order after attempt, everywhere: one lock order means no deadlock between paths.
  const [order] = await tx.select().from(orders).where(eq(orders.id, attempt.orderId)).for('update');
  if (!order) throw new Error(`order of attempt ${attempt.id} not found`);
  await tx.update(paymentAttempts).set({ lastCheckedAt: ctx.now() }).where(eq(paymentAttempts.id, attempt.id));
  const otherPaid = await tx
    .select({ id: paymentAttempts.id })
    .from(paymentAttempts)
    .where(
      and(eq(paymentAttempts.orderId, order.id), eq(paymentAttempts.status, 'paid'), isNull(paymentAttempts.latePayment), ne(paymentAttempts.id, attempt.id)),
    )
    .limit(1);

  const verdict = classifyPayment(t, { attempt, order, otherAttemptPaid: otherPaid.length > 0 }, ctx);
  switch (verdict.kind) {
    case 'not_paid':
    case 'closed_at_wechat':
    case 'duplicate':
      return { outcome: verdict.kind, orderId: order.id };
    case 'mismatch':
    case 'conflict':
      await freezeForReview(tx, { order, attempt, t, ctx, kind: verdict.kind, problems: verdict.problems });
      return { outcome: verdict.kind, orderId: order.id };
    case 'paid': {
      const fact = {
        attemptId: attempt.id,
        orderId: order.id,
        outTradeNo: attempt.outTradeNo,
        amountFen: attempt.amountFen,
        transactionId: t.transaction_id!,
        paidAt: verdict.paidAt,
        source: ctx.source,
        late: verdict.late,
        inboxId: opts.inboxId ?? null,
      };
      const moved = await markPaid(tx, [fact]);
      if (!moved.attempts.has(attempt.id)) return { outcome: 'duplicate', orderId: order.id };
      if (verdict.late) {
        await handleLatePayment(tx, { order, attempt: { ...attempt, status: 'paid' }, kind: verdict.late, ctx, transactionId: fact.transactionId });
        return { outcome: 'late_payment', orderId: order.id };
      }
      await closeOtherAttempts(tx, order.id);
      return { outcome: 'paid', orderId: order.id };
    }
  }
}

/** The order is paid: any other attempt still open must not take money too. Closed at WeChat by a job. */
async function closeOtherAttempts(tx: Tx, orderId: string): Promise<void> {
  for (const other of await openAttempts(tx, orderId)) {
    await enqueue(tx, QUEUE.expireAttempt, { version: 1, attemptId: other.id, force: true }, { id: causeId('expire', other.id, 'order-paid') });
  }
}

const REVIEW = {
  mismatch: { event: 'payment.mismatch', reason: 'mismatch', alert: 'payment_mismatch', says: 'does not match ours' },
  conflict: {
    event: 'payment.conflict',
    reason: 'transaction_conflict',
    alert: 'payment_conflict',
    says: 'names another transaction than the one we recorded',
  },
} as const;

/** Mismatch or conflict: the order is frozen for a human, with a timeline event and an alert; never paid. */
async function freezeForReview(
  tx: Tx,
  args: {
    order: typeof orders.$inferSelect;
    attempt: typeof paymentAttempts.$inferSelect;
    t: Transaction;
    ctx: PaymentContext;
    kind: 'mismatch' | 'conflict';
    problems: string[];
  },
): Promise<void> {
  const { order, attempt, t, ctx, problems } = args;
  const how = REVIEW[args.kind];
  const data = { problems, transactionId: t.transaction_id ?? null };
  const moved = await transitionOrder(tx, {
    orderId: order.id,
    attemptId: attempt.id,
    to: 'review',
    source: ctx.source,
    event: how.event,
    patch: { reviewReason: how.reason },
    data,
  });
  if (!moved) await recordEvent(tx, { orderId: order.id, attemptId: attempt.id, type: how.event, source: ctx.source, data });
  await tx.insert(alerts).values({
    kind: how.alert,
    orderId: order.id,
    message: `WeChat's record of ${attempt.outTradeNo} ${how.says}: ${problems.join('; ')}`,
    data: { ...data, source: ctx.source },
  });
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
  await writeOutboxEvent(tx, {
    topic: 'payment.late_paid',
    orderId: order.id,
    dedupeKey: `payment.late_paid:${attempt.id}`,
    payload: { orderId: order.id, status: order.status, source: ctx.source, ...data },
  });
  if (ctx.latePaymentPolicy === 'refund') {
    await requestLatePaymentRefund(
      tx,
      { orderId: order.id, attempt, reason: kind === 'after_close' ? '订单已关闭，自动退款' : '重复支付，自动退款' },
      ctx.now(),
    );
    return;
  }
  // Review policy: hold the order for a human. A paid order stays paid; the alert is what surfaces it.
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
export function safeTime(value: string | undefined): Date | null {
  if (!value) return null;
  try {
    return parseRfc3339(value);
  } catch {
    return null;
  }
}
