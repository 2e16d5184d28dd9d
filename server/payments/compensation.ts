// Compensation (DESIGN §2.5): notifications can be lost, duplicated or reordered, so every open attempt
// is also actively queried on a schedule, and at expiry it is queried, closed at WeChat, then closed here.
// Every WeChat call happens outside a transaction; what it learned is applied in one afterwards.
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { orders, paymentAttempts } from '@/db/schema';
import { AppError } from '@/server/errors';
import { enqueue } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { QUEUE } from '@/server/queue/catalogue';
import type { Tx } from '@/db/client';
import { WechatPayApiError } from '@/server/wechatpay/errors';
import type { Transaction } from '@/server/wechatpay/schemas';
import type { Gateway } from '@/server/wechatpay/gateway';
import { applyPaymentResult, type PaymentContext, type PaymentOutcome } from './payment-result';
import { OPEN_ATTEMPT_STATUSES, recordEvent, transitionAttempt, transitionOrder } from '@/server/orders/state';

/** Seconds after an attempt is created at which we ask WeChat about it; then every 5 minutes until expiry. */
export const QUERY_SCHEDULE_SECONDS = [5, 15, 30, 60, 120, 300] as const;
const QUERY_INTERVAL_AFTER_SCHEDULE = 300;

/** When step `step` of the active-query schedule is due, relative to the attempt's creation. */
export function queryOffsetSeconds(step: number): number {
  const scheduled = QUERY_SCHEDULE_SECONDS[step];
  if (scheduled !== undefined) return scheduled;
  return QUERY_SCHEDULE_SECONDS.at(-1)! + (step - QUERY_SCHEDULE_SECONDS.length + 1) * QUERY_INTERVAL_AFTER_SCHEDULE;
}

type AttemptRow = typeof paymentAttempts.$inferSelect;

/**
 * Enqueues, in the caller's transaction, the next active query of an attempt (or its expiry if the next
 * query would fall after it). Job ids come from attempt + step, so enqueueing twice is harmless.
 */
export async function scheduleNextCheck(tx: Tx, attempt: Pick<AttemptRow, 'id' | 'createdAt' | 'expiresAt'>, step: number, scale: number): Promise<void> {
  const due = attempt.createdAt.getTime() + queryOffsetSeconds(step) * 1000 * scale;
  if (due < attempt.expiresAt.getTime()) {
    await enqueue(tx, QUEUE.queryAttempt, { version: 1, attemptId: attempt.id, step }, { id: causeId('query', attempt.id, step), startAfter: new Date(due) });
  } else {
    await scheduleExpiry(tx, attempt);
  }
}

export async function scheduleExpiry(tx: Tx, attempt: Pick<AttemptRow, 'id' | 'expiresAt'>): Promise<void> {
  await enqueue(tx, QUEUE.expireAttempt, { version: 1, attemptId: attempt.id }, { id: causeId('expire', attempt.id), startAfter: attempt.expiresAt });
}

/** Asks WeChat about an attempt. ORDER_NOT_EXIST (our prepay never reached WeChat) reads as "not paid". */
async function queryWechat(gateway: Gateway, outTradeNo: string): Promise<Transaction | null> {
  try {
    return await gateway.client.queryByOutTradeNo(outTradeNo);
  } catch (err) {
    if (err instanceof WechatPayApiError && err.code === 'ORDER_NOT_EXIST') return null;
    throw err;
  }
}

async function loadAttempt(db: Db, attemptId: string): Promise<AttemptRow | undefined> {
  const [attempt] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.id, attemptId));
  return attempt;
}

const isOpen = (a: AttemptRow) => (OPEN_ATTEMPT_STATUSES as readonly string[]).includes(a.status);

/** Queries WeChat about one attempt and applies the answer. Returns what it found. */
export async function checkAttempt(db: Db, gateway: Gateway, attemptId: string, ctx: PaymentContext): Promise<PaymentOutcome | 'not_open'> {
  const attempt = await loadAttempt(db, attemptId);
  if (!attempt) throw new Error(`attempt ${attemptId} not found`);
  if (!isOpen(attempt)) return 'not_open';
  const t = await queryWechat(gateway, attempt.outTradeNo);
  return db.transaction(async (tx) => {
    if (!t) {
      await tx.update(paymentAttempts).set({ lastCheckedAt: ctx.now() }).where(eq(paymentAttempts.id, attempt.id));
      return 'not_paid' as const;
    }
    return (await applyPaymentResult(tx, t, ctx)).outcome;
  });
}

/** Active-query job: check, then schedule the next step while the attempt is open. */
export async function runActiveQuery(db: Db, gateway: Gateway, attemptId: string, step: number, ctx: PaymentContext, scale: number): Promise<string> {
  const attempt = await loadAttempt(db, attemptId);
  if (!attempt || !isOpen(attempt)) return 'not_open';
  if (ctx.now().getTime() >= attempt.expiresAt.getTime()) {
    await db.transaction((tx) => scheduleExpiry(tx, attempt));
    return 'expired';
  }
  const outcome = await checkAttempt(db, gateway, attemptId, ctx);
  const after = await loadAttempt(db, attemptId);
  if (after && isOpen(after)) await db.transaction((tx) => scheduleNextCheck(tx, after, step + 1, scale));
  return outcome;
}

/**
 * Ends an attempt that is (or should be) no longer payable: query → if paid, apply; else close at WeChat
 * → mark closed here. After an expiry the order itself closes later, once the renew window has passed
 * without a new QR code. A payment racing the close is caught by WeChat's ORDER_PAID answer (or a late
 * notification, handled as a late payment).
 */
export async function closeAttemptIfUnpaid(
  db: Db,
  gateway: Gateway,
  attemptId: string,
  ctx: PaymentContext,
  reason: 'expired' | 'renewed' | 'order_paid' | 'merchant',
): Promise<'paid' | 'closed' | 'not_open' | PaymentOutcome> {
  const attempt = await loadAttempt(db, attemptId);
  if (!attempt) throw new Error(`attempt ${attemptId} not found`);
  if (!isOpen(attempt)) return 'not_open';

  const found = await checkAttempt(db, gateway, attemptId, ctx);
  if (found !== 'not_paid' && found !== 'closed_at_wechat') return found;

  try {
    await gateway.client.closeOrder(attempt.outTradeNo);
  } catch (err) {
    if (err instanceof WechatPayApiError && (err.code === 'ORDER_PAID' || err.code === 'ORDERPAID')) {
      // Paid between our query and our close: learn it properly.
      return checkAttempt(db, gateway, attemptId, ctx);
    }
    if (!(err instanceof WechatPayApiError && (err.code === 'ORDER_NOT_EXIST' || err.code === 'ORDER_CLOSED'))) throw err;
  }

  return db.transaction(async (tx) => {
    const closed = await transitionAttempt(tx, attempt.id, 'closed', { closedAt: ctx.now() });
    if (!closed) return 'not_open' as const;
    await recordEvent(tx, {
      orderId: attempt.orderId,
      attemptId: attempt.id,
      type: 'attempt.closed',
      source: 'system',
      data: { reason, outTradeNo: attempt.outTradeNo },
    });
    if (reason === 'expired') {
      // The shopper may still ask for a new QR code for a while; after that the order closes.
      const due = new Date(attempt.expiresAt.getTime() + ctx.renewWindowMs);
      await enqueue(tx, QUEUE.closeOrder, { version: 1, orderId: attempt.orderId }, { id: causeId('close-order', attempt.id), startAfter: due });
    }
    return 'closed' as const;
  });
}

/**
 * Closes an order nobody paid: only when it still awaits payment, has no open attempt (no new QR code
 * was requested) and its last attempt expired more than the renew window ago.
 */
export async function closeAbandonedOrder(db: Db, orderId: string, renewWindowMs: number): Promise<'closed' | 'not_due' | 'not_applicable'> {
  return db.transaction(async (tx) => {
    const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update');
    if (order?.status !== 'awaiting_payment') return 'not_applicable' as const;
    const attempts = await tx.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, orderId));
    if (attempts.some(isOpen)) return 'not_applicable' as const;
    const lastExpiry = Math.max(...attempts.map((a) => a.expiresAt.getTime()));
    const due = lastExpiry + renewWindowMs;
    if (Date.now() < due) {
      await enqueue(tx, QUEUE.closeOrder, { version: 1, orderId }, { id: causeId('close-order', orderId, due), startAfter: new Date(due) });
      return 'not_due' as const;
    }
    await transitionOrder(tx, {
      orderId,
      to: 'closed',
      from: ['awaiting_payment'],
      source: 'system',
      event: 'order.closed',
      data: { reason: 'not_paid' },
    });
    return 'closed' as const;
  });
}

/** Expiry job: only acts once the attempt's time is really up (a sweeper may enqueue it early). */
export async function runExpiry(db: Db, gateway: Gateway, attemptId: string, ctx: PaymentContext, force = false): Promise<string> {
  const attempt = await loadAttempt(db, attemptId);
  if (!attempt || !isOpen(attempt)) return 'not_open';
  if (!force && ctx.now().getTime() < attempt.expiresAt.getTime()) {
    await db.transaction((tx) => scheduleExpiry(tx, attempt));
    return 'not_due';
  }
  return closeAttemptIfUnpaid(db, gateway, attemptId, ctx, force ? 'order_paid' : 'expired');
}

/**
 * The merchant closes an order that waits for payment (Payments API): each open attempt is confirmed
 * unpaid and closed at WeChat first, then the order closes. If one turns out paid, the order is paid
 * instead and this answers what it is.
 */
export async function closeOrderForMerchant(db: Db, gateway: Gateway, orderId: string, ctx: PaymentContext): Promise<'closed' | 'not_open'> {
  const [order] = await db.select().from(orders).where(eq(orders.id, orderId));
  if (!order) throw new AppError('NOT_FOUND', 'Order not found');
  if (order.status !== 'awaiting_payment') return 'not_open';
  const attempts = await db.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, orderId));
  for (const attempt of attempts.filter(isOpen)) {
    const outcome = await closeAttemptIfUnpaid(db, gateway, attempt.id, ctx, 'merchant');
    if (outcome !== 'closed' && outcome !== 'not_open') return 'not_open';
  }
  return db.transaction(async (tx) => {
    const [locked] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update');
    if (locked?.status !== 'awaiting_payment') return 'not_open' as const;
    const open = (await tx.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, orderId))).filter(isOpen);
    if (open.length) return 'not_open' as const;
    const moved = await transitionOrder(tx, {
      orderId,
      to: 'closed',
      from: ['awaiting_payment'],
      source: 'admin',
      event: 'order.closed',
      data: { reason: 'merchant_closed' },
    });
    return moved ? ('closed' as const) : ('not_open' as const);
  });
}
