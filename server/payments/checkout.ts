// What the shopper's checkout page shows and can do, by token: the status view, "get a new QR code"
// after expiry, and "I've paid" (an immediate, rate-limited query at WeChat).
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { orderItems, orders, paymentAttempts, products } from '@/db/schema';
import { AppError } from '@/server/errors';
import { hitRateLimit } from '@/server/rate-limit';
import { checkAttempt, closeAttemptIfUnpaid } from './compensation';
import { paymentContext } from './context';
import type { PaymentDeps } from './deps';
import { createOrder, insertAttempt, requestPrepay, type CheckoutItems } from './orders';
import { OPEN_ATTEMPT_STATUSES } from '@/server/orders/state';

import type { OrderStatus } from '@/server/orders/state';

export interface CheckoutView {
  status: OrderStatus;
  amountFen: number;
  currency: string;
  description: string;
  items: { name: string; nameEn: string | null; quantity: number; unitPriceFen: number }[];
  outTradeNo: string;
  codeUrl: string | null;
  attemptStatus: (typeof paymentAttempts.$inferSelect)['status'];
  expiresAt: Date;
  createdAt: Date;
  paidAt: Date | null;
  transactionId: string | null;
  reviewReason: 'late_payment' | 'mismatch' | null;
  refundedFen: number;
  /** The QR code expired (or its attempt closed) while the order still waits for payment. */
  renewable: boolean;
}

async function findOrder(db: DbOrTx, token: string) {
  const [order] = await db.select().from(orders).where(eq(orders.token, token));
  return order ?? null;
}

// One statement, one round trip: every live-status update and status poll reads this view, so it is on the
// path from "paid" to the shopper's screen (docs/benchmarks.md). It reads any
// number of orders at once: live status refreshes them in bursts (server/payments/view-loader.ts).
// The attempt that matters: the paid one if any (not a late payment), else the newest.
interface ViewRow extends Record<string, unknown> {
  token: string;
  status: OrderStatus;
  amount_fen: number;
  currency: string;
  description: string;
  created_at: string;
  paid_at: string | null;
  transaction_id: string | null;
  review_reason: string | null;
  refunded_fen: number;
  out_trade_no: string;
  code_url: string | null;
  attempt_status: CheckoutView['attemptStatus'];
  expires_at: string;
  items: CheckoutView['items'];
}

/** The shopper's views of the orders with these tokens, by token; unknown tokens are absent. */
export async function getCheckoutViews(db: DbOrTx, tokens: readonly string[], now = new Date()): Promise<Map<string, CheckoutView>> {
  const views = new Map<string, CheckoutView>();
  if (tokens.length === 0) return views;
  const rows = await db.execute<ViewRow>(sql`
    select o.token, o.status, o.amount_fen, o.currency, o.description, o.created_at, o.paid_at, o.transaction_id,
           o.review_reason, o.refunded_fen,
           a.out_trade_no, a.code_url, a.status as attempt_status, a.expires_at,
           coalesce((
             select json_agg(json_build_object('name', i.name, 'nameEn', p.name_en, 'quantity', i.quantity,
                                               'unitPriceFen', i.unit_price_fen) order by i.id)
             from ${orderItems} i left join ${products} p on p.id = i.product_id
             where i.order_id = o.id), '[]'::json) as items
    from ${orders} o
    cross join lateral (
      select * from ${paymentAttempts} pa where pa.order_id = o.id
      order by (pa.status = 'paid' and pa.late_payment is null) desc, pa.created_at desc
      limit 1) a
    where o.token = any(array(select jsonb_array_elements_text(${JSON.stringify(tokens)}::text::jsonb)))`);
  for (const row of rows) views.set(row.token, toView(row, now));
  return views;
}

/** The shopper's view of an order, or null for an unknown token. */
export async function getCheckoutView(db: DbOrTx, token: string, now = new Date()): Promise<CheckoutView | null> {
  return (await getCheckoutViews(db, [token], now)).get(token) ?? null;
}

function toView(row: ViewRow, now: Date): CheckoutView {
  const expiresAt = new Date(row.expires_at);
  const attemptOpen = (OPEN_ATTEMPT_STATUSES as readonly string[]).includes(row.attempt_status);
  return {
    status: row.status,
    amountFen: row.amount_fen,
    currency: row.currency,
    description: row.description,
    items: row.items,
    outTradeNo: row.out_trade_no,
    codeUrl: attemptOpen ? row.code_url : null,
    attemptStatus: row.attempt_status,
    expiresAt,
    createdAt: new Date(row.created_at),
    paidAt: row.paid_at === null ? null : new Date(row.paid_at),
    transactionId: row.transaction_id,
    reviewReason: (row.review_reason as CheckoutView['reviewReason']) ?? null,
    refundedFen: row.refunded_fen,
    renewable: row.status === 'awaiting_payment' && (!attemptOpen || expiresAt <= now),
  };
}

async function requireView(db: DbOrTx, token: string): Promise<CheckoutView> {
  const view = await getCheckoutView(db, token);
  if (!view) throw new AppError('NOT_FOUND', 'Order not found');
  return view;
}

/**
 * A new QR code for an order whose code expired: the old attempt is first confirmed unpaid and closed at
 * WeChat (if it turns out paid, the order is simply paid), then a new attempt gets its own out_trade_no.
 */
export async function renewCheckout(deps: PaymentDeps, token: string): Promise<CheckoutView> {
  const { db, env } = deps;
  const gateway = deps.gateway();
  const opts = { expireMinutes: env.ORDER_EXPIRE_MINUTES, scale: env.COMPENSATION_TIME_SCALE, notifyUrl: env.notifyUrl, now: deps.clock.now() };
  const order = await findOrder(db, token);
  if (!order) throw new AppError('NOT_FOUND', 'Order not found');
  if (order.status !== 'awaiting_payment') return requireView(db, token);

  const open = await db
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.orderId, order.id), inArray(paymentAttempts.status, [...OPEN_ATTEMPT_STATUSES])));
  const now = deps.clock.now().getTime();
  if (open.some((a) => a.expiresAt.getTime() > now)) {
    throw new AppError('CONFLICT', 'The current QR code is still valid.');
  }
  for (const attempt of open) {
    const outcome = await closeAttemptIfUnpaid(db, gateway, attempt.id, paymentContext(deps, 'shopper'), 'renewed');
    if (outcome !== 'closed' && outcome !== 'not_open' && outcome !== 'not_paid' && outcome !== 'closed_at_wechat') return requireView(db, token);
  }

  const attemptId = await db.transaction(async (tx) => {
    // Lock the order: two clicks at once must not create two attempts.
    const [locked] = await tx.select().from(orders).where(eq(orders.id, order.id)).for('update');
    if (locked?.status !== 'awaiting_payment') return null;
    const stillOpen = await tx
      .select({ id: paymentAttempts.id })
      .from(paymentAttempts)
      .where(and(eq(paymentAttempts.orderId, order.id), inArray(paymentAttempts.status, [...OPEN_ATTEMPT_STATUSES])));
    if (stillOpen[0]) return stillOpen[0].id;
    const attempt = await insertAttempt(tx, { orderId: order.id, amountFen: order.amountFen, description: order.description }, opts);
    return attempt.id;
  });
  if (attemptId) {
    const [attempt] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.id, attemptId));
    if (attempt?.status === 'created') await requestPrepay(db, gateway, attemptId, opts.notifyUrl);
  }
  return requireView(db, token);
}

/** "I've paid" asks WeChat at most this often per order: a shopper clicking repeatedly learns nothing new. */
const CHECKS_PER_MINUTE = 6;

export type CheckFinding = 'paid' | 'not_paid' | 'closed' | 'review';

/** "I've paid": ask WeChat now about the order's open attempts. Rate-limited per order (Postgres). */
export async function checkCheckout(deps: PaymentDeps, token: string): Promise<{ found: CheckFinding; view: CheckoutView }> {
  const { db } = deps;
  const order = await findOrder(db, token);
  if (!order) throw new AppError('NOT_FOUND', 'Order not found');
  const limit = await hitRateLimit(db, `check:${order.id}`, { limit: CHECKS_PER_MINUTE, windowSeconds: 60 });
  if (!limit.allowed) {
    throw new AppError('TOO_MANY_REQUESTS', `Please wait ${limit.retryAfterSeconds} s before checking again.`);
  }
  if (order.status === 'awaiting_payment') {
    const open = await db
      .select({ id: paymentAttempts.id })
      .from(paymentAttempts)
      .where(and(eq(paymentAttempts.orderId, order.id), inArray(paymentAttempts.status, [...OPEN_ATTEMPT_STATUSES])));
    for (const a of open) await checkAttempt(db, deps.gateway(), a.id, paymentContext(deps, 'shopper'));
  }
  const view = await requireView(db, token);
  const found: CheckFinding =
    view.status === 'paid' || view.status === 'refunded' || view.status === 'partially_refunded'
      ? 'paid'
      : view.status === 'review'
        ? 'review'
        : view.status === 'closed'
          ? 'closed'
          : 'not_paid';
  return { found, view };
}

/**
 * The shopper's "Pay": the per-IP rate limit, the order and its first attempt (committed), then the QR code
 * from WeChat (outside any transaction). Returns where the shopper goes next.
 */
export async function startCheckout(
  deps: PaymentDeps,
  input: { items: CheckoutItems; clientIp: string | null },
): Promise<{ token: string; checkoutUrl: string }> {
  const { db, env } = deps;
  const gateway = deps.gateway(); // a credential problem fails here, before any row is written
  const limit = await hitRateLimit(db, `create:${input.clientIp ?? 'unknown'}`, { limit: env.CHECKOUT_RATE_LIMIT_PER_MINUTE, windowSeconds: 60 });
  if (!limit.allowed) {
    throw new AppError('TOO_MANY_REQUESTS', `Too many orders from your network. Please try again in ${limit.retryAfterSeconds} seconds.`);
  }
  const order = await createOrder(db, {
    items: input.items,
    clientIp: input.clientIp,
    expireMinutes: env.ORDER_EXPIRE_MINUTES,
    scale: env.COMPENSATION_TIME_SCALE,
    maxAmountFen: env.MAX_ORDER_AMOUNT_FEN,
    now: deps.clock.now(),
  });
  await requestPrepay(db, gateway, order.attemptId, env.notifyUrl);
  return { token: order.token, checkoutUrl: `${env.appUrl}/checkout/${order.token}` };
}
