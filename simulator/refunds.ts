// Refunds on WeChat's side (reference §7, §13): POST creates a PROCESSING refund that succeeds on its own after
// REFUND_PROCESSING_MS × timeScale (or ends ABNORMAL / CLOSED when the control API says so); the same
// out_refund_no is the same refund; at most 50 refunds per order, their sum within the order total, within a
// year of payment; amount.total must be the order total; any refund moves the order to trade_state REFUND.
// A final status queues a REFUND.* notification on the usual retry schedule.
import { errors } from './errors';
import { beijingTime } from './ids';
import { buildNotification } from './notifier';
import { clock, firstNotifyDelay, stableJson, type OrderContext } from './orders';
import type { RefundRequest } from './schemas';
import * as store from './store';
import type { Db, OrderRow, RefundRow, RefundStatus } from './store';
import { randomInt } from 'node:crypto';

/** How long a refund stays PROCESSING before it succeeds on its own, before timeScale. */
export const REFUND_PROCESSING_MS = 30_000;
export const MAX_REFUNDS_PER_ORDER = 50;
const REFUND_WINDOW_MS = 365 * 24 * 3600 * 1000;

export type FinalRefundStatus = Exclude<RefundStatus, 'PROCESSING'>;

const SUMMARY: Record<FinalRefundStatus, string> = { SUCCESS: '退款成功', ABNORMAL: '退款异常', CLOSED: '退款关闭' };

/** The parameters a retry with the same out_refund_no must repeat (identifier resolved to the order). */
function canonicalParams(req: RefundRequest, order: OrderRow): Record<string, unknown> {
  const { transaction_id: _t, out_trade_no: _o, ...rest } = req;
  return { ...rest, out_trade_no: order.out_trade_no };
}

async function lockOrder(db: Db, mchid: string, req: RefundRequest): Promise<OrderRow> {
  const order = req.out_trade_no
    ? await store.findOrder(db, mchid, req.out_trade_no, true)
    : await db<OrderRow[]>`
        select * from wechatpay_sim.orders where mchid = ${mchid} and transaction_id = ${req.transaction_id!} for update`.then((r) => r[0] ?? null);
  if (!order) throw errors.refundOrderNotExist();
  if (req.out_trade_no && req.transaction_id && order.transaction_id !== req.transaction_id) throw errors.refundOrderMismatch();
  return order;
}

/** POST /v3/refund/domestic/refunds. The caller has checked the signature and the body schema. */
export async function createRefund(ctx: OrderContext, mchid: string, req: RefundRequest): Promise<Record<string, unknown>> {
  const now = clock(ctx);
  const delayMs = await firstNotifyDelay(ctx);
  return ctx.sql.begin(async (tx) => {
    // The order row lock serialises every refund of one order: the count and sum checks below cannot race.
    const order = await lockOrder(tx, mchid, req);
    const params = canonicalParams(req, order);

    const existing = await store.findRefund(tx, mchid, req.out_refund_no, true);
    if (existing) {
      // "同一退款单号多次请求只退一笔": a retry gets the same refund back, in its current state.
      if (existing.out_trade_no !== order.out_trade_no || stableJson(existing.params) !== stableJson(params)) throw errors.refundParamsChanged();
      return refundJson(await settleIfDue(ctx, tx, existing, now, delayMs));
    }

    if ((order.trade_state !== 'SUCCESS' && order.trade_state !== 'REFUND') || !order.success_time) throw errors.refundOrderNotExist();
    if (now.getTime() - order.success_time.getTime() > REFUND_WINDOW_MS) throw errors.refundWindowPassed();
    if (req.amount.total !== order.amount_total) throw errors.refundTotalMismatch();
    const previous = await store.refundsOfOrder(tx, mchid, order.out_trade_no);
    if (previous.length >= MAX_REFUNDS_PER_ORDER) throw errors.tooManyRefunds();
    // A CLOSED refund gave nothing back, so its amount is available again.
    const committed = previous.filter((r) => r.status !== 'CLOSED').reduce((sum, r) => sum + r.amount_refund, 0);
    if (committed + req.amount.refund > order.amount_total) throw errors.refundExceedsTotal();

    const refund = await store.insertRefund(tx, {
      mchid,
      out_refund_no: req.out_refund_no,
      refund_id: newRefundId(now),
      out_trade_no: order.out_trade_no,
      transaction_id: order.transaction_id!,
      params,
      reason: req.reason ?? null,
      notify_url: req.notify_url ?? order.notify_url,
      funds_account: req.funds_account ?? 'AVAILABLE',
      amount_refund: req.amount.refund,
      amount_total: req.amount.total,
      currency: req.amount.currency,
      status: 'PROCESSING',
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      settle_at: new Date(now.getTime() + (ctx.refundProcessingMs ?? REFUND_PROCESSING_MS * ctx.timeScale)),
      created_at: now,
    });
    // Unreachable under the order lock unless the same out_refund_no was used for another order concurrently.
    if (!refund) throw errors.refundParamsChanged();
    await store.markRefunded(tx, order, now);
    return refundJson(refund);
  });
}

/** GET /v3/refund/domestic/refunds/{out_refund_no}. */
export async function queryRefund(ctx: OrderContext, mchid: string, outRefundNo: string): Promise<Record<string, unknown>> {
  const now = clock(ctx);
  const found = await store.findRefund(ctx.sql, mchid, outRefundNo);
  if (!found) throw errors.refundNotExist();
  if (found.status !== 'PROCESSING' || found.settle_at.getTime() > now.getTime()) return refundJson(found);
  const delayMs = await firstNotifyDelay(ctx);
  return ctx.sql.begin(async (tx) => {
    const locked = await store.findRefund(tx, mchid, outRefundNo, true);
    return refundJson(await settleIfDue(ctx, tx, locked!, now, delayMs));
  });
}

/** Control API: force a PROCESSING refund's outcome now (ABNORMAL = card frozen/cancelled; CLOSED = gave up). */
export async function setRefundOutcome(ctx: OrderContext, mchid: string, outRefundNo: string, status: FinalRefundStatus): Promise<RefundRow> {
  const now = clock(ctx);
  const delayMs = await firstNotifyDelay(ctx);
  return ctx.sql.begin(async (tx) => {
    const found = await store.findRefund(tx, mchid, outRefundNo, true);
    if (!found) throw errors.refundNotExist();
    if (found.status === status) return found; // idempotent
    if (found.status !== 'PROCESSING') throw errors.refundFinished(found.status);
    return finish(ctx, tx, found, status, now, delayMs);
  });
}

/** Background settlement (called on every notifier tick): PROCESSING refunds whose time has come succeed. */
export async function settleDueRefunds(ctx: OrderContext, mchid: string, limit = 50): Promise<number> {
  const now = clock(ctx);
  const delayMs = await firstNotifyDelay(ctx);
  return ctx.sql.begin(async (tx) => {
    const due = await store.claimDueRefunds(tx, mchid, now, limit);
    for (const refund of due) await finish(ctx, tx, refund, 'SUCCESS', now, delayMs);
    return due.length;
  });
}

async function settleIfDue(ctx: OrderContext, tx: Db, refund: RefundRow, now: Date, delayMs: number): Promise<RefundRow> {
  if (refund.status !== 'PROCESSING' || refund.settle_at.getTime() > now.getTime()) return refund;
  return finish(ctx, tx, refund, 'SUCCESS', now, delayMs);
}

/** PROCESSING → final, and its notification, in the caller's transaction. */
async function finish(ctx: OrderContext, tx: Db, refund: RefundRow, status: FinalRefundStatus, now: Date, delayMs: number): Promise<RefundRow> {
  const done = await store.finishRefund(tx, refund, status, now);
  if (!done) return (await store.findRefund(tx, refund.mchid, refund.out_refund_no)) ?? refund;
  const notification = buildNotification(
    { eventType: `REFUND.${status}`, summary: SUMMARY[status], originalType: 'refund', resource: refundNotificationJson(done) },
    ctx.credentials.apiv3Key,
    now,
  );
  await store.insertNotification(
    tx,
    {
      id: notification.id,
      mchid: done.mchid,
      out_trade_no: done.out_trade_no,
      out_refund_no: done.out_refund_no,
      event_type: `REFUND.${status}`,
      notify_url: done.notify_url,
      body: notification.body,
    },
    now,
    delayMs,
  );
  return done;
}

/**
 * The Refund object of the API (reference §7.1), keys in the alphabetical order of the real capture.
 * The status field is `status` here and `refund_status` in notifications (reference §14 #15).
 */
export function refundJson(r: RefundRow): Record<string, unknown> {
  return {
    amount: {
      currency: r.currency,
      discount_refund: 0,
      from: [],
      payer_refund: r.amount_refund,
      payer_total: r.amount_total,
      refund: r.amount_refund,
      refund_fee: 0,
      settlement_refund: r.amount_refund,
      settlement_total: r.amount_total,
      total: r.amount_total,
    },
    channel: r.channel,
    create_time: beijingTime(r.created_at),
    funds_account: r.funds_account,
    out_refund_no: r.out_refund_no,
    out_trade_no: r.out_trade_no,
    promotion_detail: [],
    refund_id: r.refund_id,
    status: r.status,
    ...(r.success_time ? { success_time: beijingTime(r.success_time) } : {}),
    transaction_id: r.transaction_id,
    user_received_account: r.user_received_account,
  };
}

/** Decrypted resource of REFUND.* notifications (reference §7.3): `refund_status`, not `status`. */
export function refundNotificationJson(r: RefundRow): Record<string, unknown> {
  return {
    mchid: r.mchid,
    transaction_id: r.transaction_id,
    out_trade_no: r.out_trade_no,
    refund_id: r.refund_id,
    out_refund_no: r.out_refund_no,
    refund_status: r.status,
    ...(r.success_time ? { success_time: beijingTime(r.success_time) } : {}),
    user_received_account: r.user_received_account,
    amount: { total: r.amount_total, refund: r.amount_refund, payer_total: r.amount_total, payer_refund: r.amount_refund },
  };
}

/** 29 digits like `50303400132024073135461150169`: `503` + 10 digits + yyyyMMdd (Beijing) + 8 digits. */
function newRefundId(now: Date): string {
  const day = beijingTime(now).slice(0, 10).replaceAll('-', '');
  let digits = '';
  for (let i = 0; i < 18; i++) digits += String(randomInt(10));
  return `503${digits.slice(0, 10)}${day}${digits.slice(10)}`;
}
