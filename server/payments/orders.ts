// Creating an order and its first payment attempt, and asking WeChat for the QR code (DESIGN §2.1).
// The order and attempt commit first; the prepay call happens after, outside any transaction, and is
// retried with the very same out_trade_no and parameters.
import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '@/db/client';
import { scheduleExpiry, scheduleNextCheck } from './compensation';
import { orderEvents, orderItems, orders, paymentAttempts, products } from '@/db/schema';
import { AppError } from '@/server/errors';
import { DEFAULT_MAX_ORDER_AMOUNT_FEN } from '@/server/env';
import { safeText } from '@/server/safe-text';
import { formatRfc3339Shanghai } from '@/server/wechatpay/time';
import { WechatPayError } from '@/server/wechatpay/errors';
import type { Gateway } from '@/server/wechatpay/gateway';

/** Most of one product in one order, counted after repeated lines of it are merged. */
export const MAX_LINE_QUANTITY = 99;
/** Most lines one order request may carry (before merging). */
export const MAX_ORDER_LINES = 20;

const CheckoutLine = z.object({
  // Checked as text before any SQL: Postgres answers U+0000 with an error (a 500), not "unknown product".
  productId: safeText(64),
  quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY),
});

export const CheckoutItems = z
  .array(CheckoutLine)
  .min(1, 'the cart is empty')
  .max(MAX_ORDER_LINES, `at most ${MAX_ORDER_LINES} different products per order`)
  .superRefine((items, ctx) => {
    // Repeated lines of one product are one line of the order: the cap holds for their sum, or twenty
    // lines of 99 would make one line of 1,980.
    const merged = mergeLines(items);
    for (const [productId, quantity] of merged) {
      if (quantity <= MAX_LINE_QUANTITY) continue;
      const index = items.findIndex((item) => item.productId === productId);
      ctx.addIssue({
        code: 'custom',
        path: [index, 'quantity'],
        message: `at most ${MAX_LINE_QUANTITY} of one product per order: the lines for ${productId} add up to ${quantity}`,
      });
    }
  });
export type CheckoutItems = z.infer<typeof CheckoutItems>;

/** 32 random bytes, base64url: the shopper's only way to reach an order. */
export function newOrderToken(): string {
  return randomBytes(32).toString('base64url');
}

const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;
const ALNUM = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/** `SP` + yyyyMMddHHmmss (Asia/Shanghai) + 12 random characters = 28 chars, within WeChat's 6–32 [A-Za-z0-9_-|*]. */
export function newOutTradeNo(now: Date = new Date()): string {
  const stamp = new Date(now.getTime() + SHANGHAI_OFFSET_MS).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const bytes = randomBytes(12);
  let suffix = '';
  for (const b of bytes) suffix += ALNUM[b % ALNUM.length];
  return `SP${stamp}${suffix}`;
}

/** WeChat accepts only 1–3 byte UTF-8 and at most 127 characters in `description`. */
export function wechatDescription(text: string): string {
  const bmpOnly = [...text].filter((ch) => ch.codePointAt(0)! <= 0xffff).join('');
  const chars = [...bmpOnly];
  return chars.length <= 127 ? bmpOnly : `${chars.slice(0, 126).join('')}…`;
}

export interface CreatedOrder {
  orderId: string;
  token: string;
  attemptId: string;
  outTradeNo: string;
  amountFen: number;
}

/** Quantities by product, repeated lines added up, in the order products first appear. */
function mergeLines(items: readonly { productId: string; quantity: number }[]): Map<string, number> {
  const quantities = new Map<string, number>();
  for (const item of items) quantities.set(item.productId, (quantities.get(item.productId) ?? 0) + item.quantity);
  return quantities;
}

const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;

/** Writes the order, its items, its first attempt and the first timeline event in one transaction. */
export async function createOrder(
  db: Db,
  input: {
    items: CheckoutItems;
    clientIp?: string | null;
    expireMinutes: number;
    scale: number;
    now?: Date;
    /** Largest order total in fen (MAX_ORDER_AMOUNT_FEN); its default when not given. */
    maxAmountFen?: number;
  },
): Promise<CreatedOrder> {
  // Every caller gets the same checks before any SQL, not only the tRPC route.
  const parsed = CheckoutItems.safeParse(input.items);
  if (!parsed.success) {
    throw new AppError('BAD_REQUEST', `Invalid order: ${parsed.error.issues.map((i) => `${['items', ...i.path].join('.')}: ${i.message}`).join('; ')}`, {
      cause: parsed.error,
    });
  }
  const items = parsed.data;
  const maxAmountFen = input.maxAmountFen ?? DEFAULT_MAX_ORDER_AMOUNT_FEN;
  const now = input.now ?? new Date();
  // Merge repeated lines of the same product: the server, not the client, decides the totals.
  const quantities = mergeLines(items);

  const rows = await db
    .select()
    .from(products)
    .where(and(inArray(products.id, [...quantities.keys()]), eq(products.active, true)));
  const byId = new Map(rows.map((p) => [p.id, p]));
  const lines = [...quantities].flatMap(([id, quantity]) => {
    const p = byId.get(id);
    return p ? [{ productId: id, name: p.name, unitPriceFen: p.priceFen, quantity }] : [];
  });
  const missing = [...quantities.keys()].filter((id) => !byId.has(id));
  const first = lines[0];
  if (missing.length || !first) throw new AppError('BAD_REQUEST', `Unknown or unavailable product: ${missing.join(', ')}`);

  const amountFen = lines.reduce((sum, l) => sum + l.unitPriceFen * l.quantity, 0);
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0) throw new AppError('BAD_REQUEST', 'The order total is out of range');
  if (amountFen > maxAmountFen) {
    throw new AppError('BAD_REQUEST', `The order total ${yuan(amountFen)} is above this shop's limit of ${yuan(maxAmountFen)} per order`);
  }
  const totalQuantity = lines.reduce((n, l) => n + l.quantity, 0);
  // What the payer reads in WeChat: Chinese, whatever the page's language.
  const description = wechatDescription(lines.length === 1 && totalQuantity === 1 ? first.name : `${first.name} 等${totalQuantity}件`);
  const token = newOrderToken();
  const attempt = newAttempt({ amountFen, description }, input);
  const created = { amountFen, outTradeNo: attempt.outTradeNo, items: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })) };

  return db.transaction(async (tx) => {
    // Order, items, attempt and timeline event in one statement, and the attempt's two compensation jobs
    // beside it: sent together, the three travel in one round trip (they do not depend on each other),
    // then COMMIT (what that saves is in docs/benchmarks.md).
    const [[order]] = await Promise.all([
      tx.execute<{ id: string }>(sql`
        with o as (
          insert into ${orders} (token, amount_fen, description, client_ip, created_at, updated_at)
          values (${token}, ${amountFen}, ${description}, ${input.clientIp ?? null}, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)
          returning id
        ), items as (
          insert into ${orderItems} (order_id, product_id, name, unit_price_fen, quantity)
          select o.id, x.product_id, x.name, x.unit_price_fen, x.quantity
          from o, rows from (jsonb_to_recordset(${JSON.stringify(lines.map((l) => ({ product_id: l.productId, name: l.name, unit_price_fen: l.unitPriceFen, quantity: l.quantity })))}::text::jsonb)
                    as (product_id text, name text, unit_price_fen integer, quantity integer)) with ordinality as x(product_id, name, unit_price_fen, quantity, n)
          order by x.n -- lines keep their order (order_items.id follows it)
        ), attempt as (
          insert into ${paymentAttempts} (id, order_id, out_trade_no, amount_fen, description, time_expire, expires_at, created_at, updated_at)
          select ${attempt.id}::uuid, o.id, ${attempt.outTradeNo}, ${amountFen}, ${description}, ${attempt.timeExpire},
                 ${attempt.expiresAt.toISOString()}::timestamptz, ${attempt.createdAt.toISOString()}::timestamptz, ${attempt.createdAt.toISOString()}::timestamptz
          from o
        ), event as (
          insert into ${orderEvents} (order_id, attempt_id, type, source, data)
          select o.id, ${attempt.id}::uuid, 'order.created', 'shopper', ${JSON.stringify(created)}::text::jsonb from o
        )
        select id from o`),
      scheduleNextCheck(tx, attempt, 0, input.scale),
      scheduleExpiry(tx, attempt),
    ]);
    if (!order) throw new Error('the order insert returned no row');
    return { orderId: order.id, token, attemptId: attempt.id, outTradeNo: attempt.outTradeNo, amountFen };
  });
}

/** A new attempt's identity and times: own out_trade_no, whole seconds, the exact time_expire string WeChat gets. */
function newAttempt(_order: { amountFen: number; description: string }, opts: { expireMinutes: number; now?: Date }) {
  const now = opts.now ?? new Date();
  const createdAt = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const expiresAt = new Date(Math.floor((now.getTime() + opts.expireMinutes * 60_000) / 1000) * 1000);
  return { id: randomUUID(), outTradeNo: newOutTradeNo(now), timeExpire: formatRfc3339Shanghai(expiresAt), expiresAt, createdAt };
}

/**
 * A new payment attempt (own out_trade_no, exact time_expire string) and its compensation schedule —
 * first active query and expiry — in the caller's transaction, so no attempt ever exists unwatched.
 */
export async function insertAttempt(
  tx: Tx,
  order: { orderId: string; amountFen: number; description: string },
  opts: { expireMinutes: number; scale: number; now?: Date },
) {
  const a = newAttempt(order, opts);
  const [[attempt]] = await Promise.all([
    tx
      .insert(paymentAttempts)
      .values({
        id: a.id,
        orderId: order.orderId,
        outTradeNo: a.outTradeNo,
        amountFen: order.amountFen,
        description: order.description,
        timeExpire: a.timeExpire,
        expiresAt: a.expiresAt,
        createdAt: a.createdAt,
        updatedAt: a.createdAt,
      })
      .returning(),
    scheduleNextCheck(tx, a, 0, opts.scale),
    scheduleExpiry(tx, a),
  ]);
  if (!attempt) throw new Error('the attempt insert returned no row');
  return attempt;
}

/**
 * Asks WeChat for a code_url for an attempt (outside any transaction). The client retries transient
 * failures itself; the parameters come from the stored attempt so every retry is identical.
 */
export async function requestPrepay(db: Db, gateway: Gateway, attemptId: string, notifyUrl: string): Promise<string> {
  const [attempt] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.id, attemptId));
  if (!attempt) throw new AppError('NOT_FOUND', 'Payment attempt not found');
  if (attempt.status !== 'created' && attempt.status !== 'awaiting_payment') {
    throw new AppError('CONFLICT', `Payment attempt is ${attempt.status}`);
  }
  let codeUrl: string;
  try {
    ({ code_url: codeUrl } = await gateway.client.nativePrepay({
      description: attempt.description,
      out_trade_no: attempt.outTradeNo,
      time_expire: attempt.timeExpire,
      notify_url: notifyUrl,
      amount: { total: attempt.amountFen, currency: 'CNY' },
    }));
  } catch (err) {
    const reason = err instanceof WechatPayError ? err.message : 'unexpected error';
    await db
      .update(paymentAttempts)
      .set({ prepayError: reason.slice(0, 500), updatedAt: new Date() })
      .where(eq(paymentAttempts.id, attemptId));
    throw new AppError('PAYMENT_PROVIDER_UNAVAILABLE', 'WeChat Pay is not answering right now. Please try again in a moment.', {
      cause: err,
    });
  }
  // The QR code and its timeline event in one statement (one round trip, atomic); nothing if the attempt
  // closed meanwhile.
  await db.execute(sql`
    with issued as (
      update ${paymentAttempts} set code_url = ${codeUrl}, status = 'awaiting_payment', prepay_error = null, updated_at = now()
      where id = ${attemptId} and status in ('created', 'awaiting_payment')
      returning id, order_id)
    insert into ${orderEvents} (order_id, attempt_id, type, source, data)
    select order_id, id, 'attempt.code_issued', 'system', '{}'::jsonb from issued`);
  return codeUrl;
}

export interface DirectOrderInput {
  /** The business system's order number: unique; a second order with it is refused (CONFLICT). */
  merchantOrderNo: string;
  amountFen: number;
  /** What the payer reads in WeChat. */
  description: string;
  metadata?: Record<string, string> | null;
  clientIp?: string | null;
  expireMinutes: number;
  scale: number;
  maxAmountFen: number;
  now?: Date;
}

/**
 * An order for an amount the business system decides (the Payments API), without catalogue lines: the
 * same order, attempt, timeline event and compensation schedule as a storefront order, so the checkout
 * page, notify, query and expiry treat it the same way.
 */
export async function createDirectOrder(db: Db, input: DirectOrderInput): Promise<CreatedOrder> {
  const { amountFen } = input;
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0) throw new AppError('BAD_REQUEST', 'amountFen must be a positive whole number of fen');
  if (amountFen > input.maxAmountFen) {
    throw new AppError('BAD_REQUEST', `The order total ${yuan(amountFen)} is above this shop's limit of ${yuan(input.maxAmountFen)} per order`);
  }
  const description = wechatDescription(input.description);
  const now = input.now ?? new Date();
  const token = newOrderToken();
  const attempt = newAttempt({ amountFen, description }, input);
  try {
    return await db.transaction(async (tx) => {
      const [order] = await tx
        .insert(orders)
        .values({
          token,
          amountFen,
          description,
          clientIp: input.clientIp ?? null,
          merchantOrderNo: input.merchantOrderNo,
          metadata: input.metadata ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .returning({ id: orders.id });
      if (!order) throw new Error('the order insert returned no row');
      await tx.insert(paymentAttempts).values({
        id: attempt.id,
        orderId: order.id,
        outTradeNo: attempt.outTradeNo,
        amountFen,
        description,
        timeExpire: attempt.timeExpire,
        expiresAt: attempt.expiresAt,
        createdAt: attempt.createdAt,
        updatedAt: attempt.createdAt,
      });
      await Promise.all([
        tx.insert(orderEvents).values({
          orderId: order.id,
          attemptId: attempt.id,
          type: 'order.created',
          source: 'system',
          data: { amountFen, outTradeNo: attempt.outTradeNo, merchantOrderNo: input.merchantOrderNo, via: 'api' },
        }),
        scheduleNextCheck(tx, attempt, 0, input.scale),
        scheduleExpiry(tx, attempt),
      ]);
      return { orderId: order.id, token, attemptId: attempt.id, outTradeNo: attempt.outTradeNo, amountFen };
    });
  } catch (err) {
    if (isUniqueViolation(err, 'orders_merchant_order_no_idx')) {
      throw new AppError('CONFLICT', `An order with merchantOrderNo ${input.merchantOrderNo} exists already`, { cause: err });
    }
    throw err;
  }
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const pg = e as { code?: string; constraint_name?: string };
    if (pg.code === '23505' && pg.constraint_name === constraint) return true;
  }
  return false;
}
