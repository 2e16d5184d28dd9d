// Order rules on WeChat's side (reference §3.3, §4, §5, §13): idempotent re-orders with identical parameters,
// OUT_TRADE_NO_USED otherwise, NOTPAY → SUCCESS | CLOSED, expiry evaluated lazily whenever an order is touched.
import type postgres from 'postgres';
import { pick, type FaultStore } from './faults';
import type { SimCredentials } from './credentials';
import { errors } from './errors';
import { beijingTime, newCodeUrl, newOpenid, newTransactionId } from './ids';
import { buildTransactionNotification } from './notifier';
import type { PrepayRequest } from './schemas';
import { parseRfc3339 } from './schemas';
import * as store from './store';
import type { Db, OrderRow } from './store';

export interface OrderContext {
  sql: postgres.Sql;
  credentials: SimCredentials;
  /** Scales simulated durations (minimum order validity, notification retries, refund processing) for fast tests. */
  timeScale: number;
  /** Fault injection; absent = no faults (unit-level callers). */
  faults?: FaultStore;
  /** How long a new refund stays PROCESSING; default REFUND_PROCESSING_MS × timeScale. */
  refundProcessingMs?: number;
  /** Minimum simulated time between two refunds of one order; default 60 s × timeScale (WeChat: 1 minute). */
  refundSpacingMs?: number;
  /** WeChat's fee rate as a fraction (0.006 = 0.6 %, the default). */
  feeRate?: number;
  /** SIM_BILLS_IMMEDIATE: today's bills (so far) can be applied for at once. */
  billsImmediate?: boolean;
  /** Simulated epoch ms (the offsettable clock); absent = wall time. */
  now?: () => number;
}

export const DEFAULT_FEE_RATE = 0.006;

/** The fee rate in parts per million, so fee arithmetic stays in integers. */
export function feeRatePpm(ctx: Pick<OrderContext, 'feeRate'>): number {
  return Math.round((ctx.feeRate ?? DEFAULT_FEE_RATE) * 1_000_000);
}

/**
 * WeChat's fee on `fen`: amount × rate rounded half up to the fen, per transaction (so a 0.01 yuan payment at
 * 0.6 % costs nothing). The trade bill prints it with five decimals; the fund-flow bill deducts the same fen.
 */
export function feeFor(fen: number, ppm: number): number {
  return Math.floor((fen * ppm + 500_000) / 1_000_000);
}

/** The notifyDelayMs fault's delay for a notification about to be queued. */
export async function firstNotifyDelay(ctx: OrderContext): Promise<number> {
  return ctx.faults ? pick((await ctx.faults.get()).notifyDelayMs) : 0;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Default validity when time_expire is absent, and the auto-close horizon (reference §3.1, §5). */
const DEFAULT_VALIDITY_MS = 7 * DAY;
const MAX_VALIDITY_MS = 90 * DAY;
/** WeChat silently raises an earlier time_expire to order time + 1 minute. */
const MIN_VALIDITY_MS = MINUTE;
/** A code_url is scannable for 2 hours (reference §3.2). */
const CODE_URL_VALIDITY_MS = 2 * 60 * MINUTE;

export function clock(ctx: OrderContext): Date {
  return new Date(ctx.now ? ctx.now() : Date.now());
}

/**
 * The parameters a re-order must repeat exactly. Defaults are filled in and time_expire is compared as an
 * instant, so `…+08:00` and the same moment in `Z` count as identical; key order never matters.
 */
function canonicalParams(req: PrepayRequest): Record<string, unknown> {
  const params: Record<string, unknown> = { ...req, amount: { total: req.amount.total, currency: req.amount.currency ?? 'CNY' } };
  if (req.time_expire !== undefined) params.time_expire = new Date(parseRfc3339(req.time_expire)!).toISOString();
  return params;
}

/** JSON with object keys sorted at every level (jsonb returns keys in its own order). */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function effectiveExpiry(req: PrepayRequest, now: Date, timeScale: number): Date {
  const created = now.getTime();
  const requested = req.time_expire !== undefined ? parseRfc3339(req.time_expire)! : created + DEFAULT_VALIDITY_MS;
  const min = created + MIN_VALIDITY_MS * timeScale;
  return new Date(Math.min(Math.max(requested, min), created + MAX_VALIDITY_MS));
}

/** Closes an unpaid order whose time_expire has passed; returns the current row either way. */
async function settleExpiry(db: Db, order: OrderRow, now: Date): Promise<OrderRow> {
  if (order.trade_state !== 'NOTPAY' || order.time_expire.getTime() > now.getTime()) return order;
  const closed = await store.closeOrder(db, order, order.time_expire, 'expired', now);
  return closed ?? (await store.findOrder(db, order.mchid, order.out_trade_no)) ?? order;
}

/** POST /v3/pay/transactions/native. The caller has checked the signature, mchid and schema. */
export async function prepay(ctx: OrderContext, req: PrepayRequest): Promise<{ code_url: string }> {
  if (req.appid !== ctx.credentials.appid) throw errors.appidMismatch();
  const now = clock(ctx);
  const params = canonicalParams(req);
  return ctx.sql.begin(async (tx) => {
    const inserted = await store.insertOrder(tx, {
      mchid: req.mchid,
      out_trade_no: req.out_trade_no,
      appid: req.appid,
      description: req.description,
      amount_total: req.amount.total,
      currency: req.amount.currency ?? 'CNY',
      notify_url: req.notify_url,
      attach: req.attach ?? null,
      device_id: req.scene_info?.device_id ?? null,
      params,
      time_expire: effectiveExpiry(req, now, ctx.timeScale),
      code_url: newCodeUrl(),
      code_url_issued_at: now,
      trade_state: 'NOTPAY',
      created_at: now,
    });
    if (inserted) return { code_url: inserted.code_url };

    const existing = await store.findOrder(tx, req.mchid, req.out_trade_no, true);
    if (!existing) throw errors.system(); // unreachable: the conflicting row cannot vanish inside this transaction
    const order = await settleExpiry(tx, existing, now);
    if (order.trade_state === 'SUCCESS' || order.trade_state === 'REFUND') throw errors.orderPaid();
    if (order.trade_state === 'CLOSED') throw errors.orderClosed();
    if (stableJson(order.params) !== stableJson(params)) throw errors.outTradeNoUsed();
    // Same parameters: a fresh code_url, and the previous one stops working.
    const refreshed = await store.replaceCodeUrl(tx, order, newCodeUrl(), now);
    return { code_url: refreshed.code_url };
  });
}

export async function queryByOutTradeNo(ctx: OrderContext, mchid: string, outTradeNo: string): Promise<Record<string, unknown>> {
  const found = await store.findOrder(ctx.sql, mchid, outTradeNo);
  if (!found) throw errors.orderNotExist();
  const now = clock(ctx);
  if (isHidden(found, now)) return transactionJson(apparentOrder(found));
  return transactionJson(await settleExpiry(ctx.sql, found, now));
}

/** The "payment we never heard of" injection: the order is paid, but queries do not show it yet. */
export function isHidden(o: OrderRow, now: Date): boolean {
  return o.hidden_until !== null && o.hidden_until.getTime() > now.getTime();
}

/** What a hidden payment's order looks like from outside: unpaid, or closed if the merchant closed it meanwhile. */
function apparentOrder(o: OrderRow): OrderRow {
  return { ...o, trade_state: o.apparent_closed_at ? 'CLOSED' : 'NOTPAY', transaction_id: null, success_time: null };
}

/** Only paid orders have a transaction_id, so unpaid ones are naturally ORDER_NOT_EXIST here (reference §4). */
export async function queryByTransactionId(ctx: OrderContext, mchid: string, transactionId: string): Promise<Record<string, unknown>> {
  const found = await store.findOrderByTransactionId(ctx.sql, mchid, transactionId);
  if (!found || isHidden(found, clock(ctx))) throw errors.orderNotExist();
  return transactionJson(found);
}

/** Re-entrant: closing a closed (or expired) order succeeds again; a paid order cannot be closed. */
export async function closeByMerchant(ctx: OrderContext, mchid: string, outTradeNo: string): Promise<void> {
  const now = clock(ctx);
  await ctx.sql.begin(async (tx) => {
    const found = await store.findOrder(tx, mchid, outTradeNo, true);
    if (!found) throw errors.orderNotExist();
    if (isHidden(found, now)) {
      // The merchant closes what it believes is unpaid; the payment stays, and the bill will show it.
      await store.markApparentlyClosed(tx, found, now);
      return;
    }
    const order = await settleExpiry(tx, found, now);
    if (order.trade_state === 'SUCCESS' || order.trade_state === 'REFUND') throw errors.orderPaid();
    if (order.trade_state === 'NOTPAY') await store.closeOrder(tx, order, now, 'merchant', now);
  });
}

/** The simulator's record of one order (control API), with expiry applied. */
export async function findOrder(ctx: OrderContext, mchid: string, outTradeNo: string): Promise<OrderRow | null> {
  const found = await store.findOrder(ctx.sql, mchid, outTradeNo);
  return found ? settleExpiry(ctx.sql, found, clock(ctx)) : null;
}

/** The order a phone page is showing, with expiry applied; null for an unknown or superseded code_url. */
export async function findByCodeUrl(ctx: OrderContext, codeUrl: string): Promise<OrderRow | null> {
  const found = await store.findOrderByCodeUrl(ctx.sql, ctx.credentials.mchid, codeUrl);
  return found ? settleExpiry(ctx.sql, found, clock(ctx)) : null;
}

export function isCodeUrlFresh(order: OrderRow, now: Date): boolean {
  return now.getTime() - order.code_url_issued_at.getTime() < CODE_URL_VALIDITY_MS;
}

/** How the simulated shopper's payment goes: paid, or refused for lack of funds (余额不足) without paying. */
export type PayOutcome = 'SUCCESS' | 'INSUFFICIENT_BALANCE';

export type PayTarget = { codeUrl: string } | { outTradeNo: string };

export interface PayOptions {
  /** Also pay a CLOSED order: a payment racing a close, i.e. the late payment the merchant must handle. */
  allowClosed?: boolean;
  outcome?: PayOutcome;
  /** Part of the amount paid by a non-recharge coupon (免充值代金券), fen; default 0. */
  couponFen?: number;
  /**
   * "A payment we never heard of": no notification at all, and queries show the order unpaid (a close is
   * answered as if it were) until this simulated time; the bill shows it paid.
   */
  hiddenUntil?: Date;
  /** Success time other than now (simulated); must not be in the future. */
  successTime?: Date;
}

/**
 * The shopper scans and pays. In one transaction: the order becomes SUCCESS and its notification is queued,
 * so a payment can never exist without its notification. By code_url the code must be the current one and at
 * most 2 hours old, as in WeChat; by out_trade_no (control API only) it need not be, because a late payment
 * on a closed order is reproduced long after its code_url stopped mattering.
 * INSUFFICIENT_BALANCE checks the same things and then changes nothing: WeChat refuses the payment on the
 * phone and tells the merchant nothing (the order stays NOTPAY).
 */
export async function pay(ctx: OrderContext, target: PayTarget, opts: PayOptions = {}): Promise<OrderRow> {
  const now = clock(ctx);
  const delayMs = await firstNotifyDelay(ctx);
  return ctx.sql.begin(async (tx) => {
    let found: OrderRow | null;
    if ('codeUrl' in target) {
      found = await store.findOrderByCodeUrl(tx, ctx.credentials.mchid, target.codeUrl, true);
      if (!found || !isCodeUrlFresh(found, now)) throw errors.codeUrlInvalid();
    } else {
      found = await store.findOrder(tx, ctx.credentials.mchid, target.outTradeNo, true);
      if (!found) throw errors.orderNotExist();
    }
    const order = await settleExpiry(tx, found, now);
    if (order.trade_state === 'SUCCESS' || order.trade_state === 'REFUND') throw errors.orderPaid();
    if (order.trade_state === 'CLOSED' && !opts.allowClosed) throw errors.orderClosed();
    if (opts.outcome === 'INSUFFICIENT_BALANCE') return order;

    const couponFen = opts.couponFen ?? 0;
    if (couponFen < 0 || couponFen >= order.amount_total) throw errors.param('coupon must be less than the order amount');
    const successTime = opts.successTime ?? now;
    if (successTime.getTime() > now.getTime()) throw errors.param('the success time must not be in the (simulated) future');
    const paid = await store.markPaid(
      tx,
      order,
      {
        transactionId: newTransactionId(successTime),
        openid: newOpenid(),
        successTime,
        couponFen,
        feeFen: feeFor(order.amount_total - couponFen, feeRatePpm(ctx)),
        hiddenUntil: opts.hiddenUntil ?? null,
      },
      opts.allowClosed ? ['NOTPAY', 'CLOSED'] : ['NOTPAY'],
    );
    if (!paid) throw errors.system(); // unreachable under the row lock
    if (opts.hiddenUntil) return paid;
    const notification = buildTransactionNotification(transactionJson(paid), ctx.credentials.apiv3Key, now);
    await store.insertNotification(
      tx,
      {
        id: notification.id,
        mchid: paid.mchid,
        out_trade_no: paid.out_trade_no,
        event_type: 'TRANSACTION.SUCCESS',
        notify_url: paid.notify_url,
        body: notification.body,
      },
      now,
      delayMs,
    );
    return paid;
  });
}

/** Kept for callers of the first version: pay the order behind a (current, fresh) code_url. */
export function payByCodeUrl(ctx: OrderContext, codeUrl: string, opts: PayOptions = {}): Promise<OrderRow> {
  return pay(ctx, { codeUrl }, opts);
}

const TRADE_STATE_DESC: Record<OrderRow['trade_state'], string> = {
  NOTPAY: '订单未支付',
  SUCCESS: '支付成功',
  CLOSED: '订单已关闭',
  REFUND: '转入退款',
};

/**
 * The transaction object of query responses and notification plaintexts, shaped like real captures
 * (reference §4.1, §12 D5): unpaid orders carry no transaction_id, payer, success_time, bank_type or payer_total.
 */
export function transactionJson(o: OrderRow): Record<string, unknown> {
  if (o.trade_state === 'NOTPAY' || o.trade_state === 'CLOSED') {
    return {
      amount: { payer_currency: o.currency, total: o.amount_total },
      appid: o.appid,
      mchid: o.mchid,
      out_trade_no: o.out_trade_no,
      promotion_detail: [],
      scene_info: { device_id: o.device_id ?? '' },
      trade_state: o.trade_state,
      trade_state_desc: TRADE_STATE_DESC[o.trade_state],
    };
  }
  return {
    mchid: o.mchid,
    appid: o.appid,
    out_trade_no: o.out_trade_no,
    transaction_id: o.transaction_id,
    trade_type: 'NATIVE',
    trade_state: o.trade_state,
    trade_state_desc: TRADE_STATE_DESC[o.trade_state],
    bank_type: 'OTHERS',
    attach: o.attach ?? '',
    success_time: beijingTime(o.success_time!),
    payer: { openid: o.payer_openid },
    amount: { total: o.amount_total, payer_total: o.amount_total - o.coupon_fen, currency: o.currency, payer_currency: o.currency },
    ...(o.device_id ? { scene_info: { device_id: o.device_id } } : {}),
    promotion_detail: o.coupon_fen > 0 ? [couponDetail(o)] : [],
  };
}

/** The promotion_detail entry of a non-recharge coupon (reference §4.1). */
function couponDetail(o: OrderRow): Record<string, unknown> {
  return {
    coupon_id: `sim${(o.transaction_id ?? '').slice(-10)}`,
    name: '模拟代金券',
    scope: 'GLOBAL',
    type: 'DISCOUNT',
    amount: o.coupon_fen,
    stock_id: '0',
    wechatpay_contribute: 0,
    merchant_contribute: o.coupon_fen,
    other_contribute: 0,
    currency: o.currency,
  };
}

/**
 * A trade the merchant's system never made (discrepancy injection "a trade unknown to us"): an order on the same
 * mchid, created a minute before `at` and paid at `at`, with no notification to anyone. Queries find it, as
 * they would find an order another system made on the same merchant account.
 */
export async function createExternalPaidOrder(
  ctx: OrderContext,
  input: { outTradeNo: string; amountFen: number; description?: string; at?: Date; couponFen?: number },
): Promise<OrderRow> {
  const now = clock(ctx);
  const at = input.at ?? now;
  if (at.getTime() > now.getTime()) throw errors.param('at must not be in the (simulated) future');
  const created = new Date(at.getTime() - MINUTE);
  const mchid = ctx.credentials.mchid;
  return ctx.sql.begin(async (tx) => {
    const inserted = await store.insertOrder(tx, {
      mchid,
      out_trade_no: input.outTradeNo,
      appid: ctx.credentials.appid,
      description: input.description ?? '商户平台外部订单',
      amount_total: input.amountFen,
      currency: 'CNY',
      notify_url: 'https://external.invalid/notify',
      attach: null,
      device_id: null,
      params: { external: true },
      time_expire: new Date(created.getTime() + 2 * 60 * MINUTE),
      code_url: newCodeUrl(),
      code_url_issued_at: created,
      trade_state: 'NOTPAY',
      created_at: created,
      external: true,
    });
    if (!inserted) throw errors.outTradeNoUsed();
    const couponFen = input.couponFen ?? 0;
    const paid = await store.markPaid(
      tx,
      inserted,
      {
        transactionId: newTransactionId(at),
        openid: newOpenid(),
        successTime: at,
        couponFen,
        feeFen: feeFor(input.amountFen - couponFen, feeRatePpm(ctx)),
      },
      ['NOTPAY'],
    );
    if (!paid) throw errors.system();
    return paid;
  });
}
