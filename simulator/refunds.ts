// Refunds on WeChat's side (reference §7, §13): POST creates a PROCESSING refund that reaches its planned status
// on its own after REFUND_PROCESSING_MS × timeScale — SUCCESS unless a refund plan (control API) says ABNORMAL,
// CLOSED, another delay, or "stay PROCESSING"; the same out_refund_no with the same parameters is the same refund;
// at most 50 refunds per order, their sum within the order total, within a year of payment, one order's refunds at
// least a minute apart (simulated time); amount.total must be the order total; any refund moves the order to
// trade_state REFUND. A final status queues a REFUND.* notification on the usual retry schedule. An ABNORMAL refund
// is paid out with apply-abnormal-refund (bank fields RSA-OAEP-encrypted for WeChat's key), then succeeds.
import { createHash, randomInt, type KeyObject } from 'node:crypto';
import { decryptSensitive } from '../server/wechatpay/crypto';
import { errors } from './errors';
import { beijingTime } from './ids';
import { buildNotification } from './notifier';
import { clock, feeFor, feeRatePpm, firstNotifyDelay, stableJson, type OrderContext } from './orders';
import type { AbnormalRefundRequest, RefundRequest } from './schemas';
import * as store from './store';
import type { Db, OrderRow, RefundRow, RefundStatus } from './store';

/** How long a refund stays PROCESSING before it succeeds on its own, before timeScale. */
export const REFUND_PROCESSING_MS = 30_000;
export const MAX_REFUNDS_PER_ORDER = 50;
/** "同一笔订单多次退款的请求需相隔1分钟", before timeScale. */
export const REFUND_SPACING_MS = 60_000;
const REFUND_WINDOW_MS = 365 * 24 * 3600 * 1000;

function processingMs(ctx: OrderContext): number {
  return ctx.refundProcessingMs ?? REFUND_PROCESSING_MS * ctx.timeScale;
}

function spacingMs(ctx: OrderContext): number {
  return ctx.refundSpacingMs ?? REFUND_SPACING_MS * ctx.timeScale;
}

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
      const counted = await store.countRefundRequest(tx, existing);
      return refundJson(await settleIfDue(ctx, tx, counted, now, delayMs));
    }

    if ((order.trade_state !== 'SUCCESS' && order.trade_state !== 'REFUND') || !order.success_time) throw errors.refundOrderNotExist();
    if (now.getTime() - order.success_time.getTime() > REFUND_WINDOW_MS) throw errors.refundWindowPassed();
    if (req.amount.total !== order.amount_total) throw errors.refundTotalMismatch();
    const previous = await store.refundsOfOrder(tx, mchid, order.out_trade_no);
    if (previous.length >= MAX_REFUNDS_PER_ORDER) throw errors.tooManyRefunds();
    // A CLOSED refund gave nothing back, so its amount is available again.
    const committed = previous.filter((r) => r.status !== 'CLOSED').reduce((sum, r) => sum + r.amount_refund, 0);
    if (committed + req.amount.refund > order.amount_total) throw errors.refundExceedsTotal();
    const last = previous.reduce((max, r) => Math.max(max, r.created_at.getTime()), -Infinity);
    if (now.getTime() - last < spacingMs(ctx)) throw errors.refundTooSoon();

    const plan = await store.planFor(tx, mchid, req.out_refund_no);
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
      settle_at: new Date(now.getTime() + (plan?.after_ms ?? processingMs(ctx))),
      planned_status: plan?.status ?? 'SUCCESS',
      fee_refund_fen: refundFee(ctx, order, req.amount.refund, previous),
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
    // A refund reopened by apply-abnormal-refund is PROCESSING again; before that ABNORMAL is final for this API.
    if (found.status !== 'PROCESSING') throw errors.refundFinished(found.status);
    return finish(ctx, tx, found, status, now, delayMs);
  });
}

/** Background settlement (called on every notifier tick): PROCESSING refunds whose time has come reach their planned status. */
export async function settleDueRefunds(ctx: OrderContext, mchid: string, limit = 50): Promise<number> {
  const now = clock(ctx);
  const delayMs = await firstNotifyDelay(ctx);
  return ctx.sql.begin(async (tx) => {
    const due = await store.claimDueRefunds(tx, mchid, now, limit);
    // Finished as of its settle time, not of this tick: after a jump of the simulated clock the refund still
    // succeeded when it was due (what the day's bill and the query then show), not when a tick noticed.
    for (const refund of due) await finish(ctx, tx, refund, finalOf(refund), refund.settle_at, delayMs);
    return due.length;
  });
}

function finalOf(refund: RefundRow): FinalRefundStatus {
  return refund.planned_status === 'PROCESSING' ? 'SUCCESS' : refund.planned_status;
}

async function settleIfDue(ctx: OrderContext, tx: Db, refund: RefundRow, now: Date, delayMs: number): Promise<RefundRow> {
  if (refund.status !== 'PROCESSING' || refund.planned_status === 'PROCESSING' || refund.settle_at.getTime() > now.getTime()) return refund;
  return finish(ctx, tx, refund, finalOf(refund), refund.settle_at, delayMs);
}

/**
 * The fee WeChat returns with a refund: the refunded share of the payment's fee, rounded half up, and a full
 * refund returns exactly what is left of the fee (so the fee refunds of one order never exceed its fee).
 */
function refundFee(ctx: OrderContext, order: OrderRow, refundFen: number, previous: RefundRow[]): number {
  const fee = order.fee_fen ?? feeFor(order.amount_total - order.coupon_fen, feeRatePpm(ctx));
  const open = previous.filter((r) => r.status !== 'CLOSED');
  const returned = open.reduce((s, r) => s + r.fee_refund_fen, 0);
  const refunded = open.reduce((s, r) => s + r.amount_refund, 0);
  if (refunded + refundFen >= order.amount_total) return Math.max(0, fee - returned);
  return Math.min(Math.max(0, fee - returned), Math.floor((fee * refundFen * 2 + order.amount_total) / (2 * order.amount_total)));
}

// ------------------------------------------------------------------ apply-abnormal-refund

/** The 15 debit-card banks apply-abnormal-refund accepts for USER_BANK_CARD, with the name shown to the payer. */
export const ABNORMAL_REFUND_BANKS: Record<string, string> = {
  ICBC_DEBIT: '工商银行',
  CCB_DEBIT: '建设银行',
  ABC_DEBIT: '农业银行',
  BOC_DEBIT: '中国银行',
  COMM_DEBIT: '交通银行',
  CMB_DEBIT: '招商银行',
  PAB_DEBIT: '平安银行',
  SPDB_DEBIT: '浦发银行',
  CITIC_DEBIT: '中信银行',
  CEB_DEBIT: '光大银行',
  CMBC_DEBIT: '民生银行',
  CIB_DEBIT: '兴业银行',
  GDB_DEBIT: '广发银行',
  PSBC_DEBIT: '邮储银行',
  NBCB_DEBIT: '宁波银行',
};

/** WeChat's private keys by the serial a merchant names in Wechatpay-Serial when encrypting for it. */
export type SensitiveKeys = Record<string, KeyObject>;

/**
 * POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund. Only an ABNORMAL refund can be sent to
 * another account: the payer's debit card (USER_BANK_CARD: bank_type, bank_account and real_name required, the
 * last two encrypted with the key named by Wechatpay-Serial) or the merchant's settlement account
 * (MERCHANT_BANK_CARD). The refund goes back to PROCESSING and succeeds after the usual processing time.
 * Repeating an accepted request with the same fields answers the refund as it is now.
 */
export async function applyAbnormalRefund(
  ctx: OrderContext,
  mchid: string,
  refundId: string,
  req: AbnormalRefundRequest,
  keys: { serial: string | undefined; bySerial: SensitiveKeys },
): Promise<Record<string, unknown>> {
  const now = clock(ctx);
  const target = decodeTarget(req, keys);
  const digest = createHash('sha256')
    .update(JSON.stringify([req.type, target.bankType, target.account, target.name]))
    .digest('hex');
  const delayMs = await firstNotifyDelay(ctx);
  return ctx.sql.begin(async (tx) => {
    const refund = await store.findRefundById(tx, mchid, refundId, true);
    if (!refund) throw errors.refundNotExist();
    if (refund.out_refund_no !== req.out_refund_no) throw errors.abnormalRefundMismatch();
    if (refund.status !== 'ABNORMAL') {
      if (refund.abnormal_apply && refund.abnormal_apply.digest === digest) return refundJson(await settleIfDue(ctx, tx, refund, now, delayMs));
      throw errors.refundNotAbnormal(refund.status);
    }
    const apply = {
      type: req.type,
      bank_type: target.bankType,
      account_last4: target.account?.slice(-4) ?? null,
      real_name_masked: target.name ? `${target.name.slice(0, 1)}${'*'.repeat(Math.max(1, [...target.name].length - 1))}` : null,
      digest,
      at: now.toISOString(),
    };
    const reopened = await store.reopenAbnormalRefund(
      tx,
      refund,
      {
        channel: 'OTHER_BANKCARD',
        account: req.type === 'USER_BANK_CARD' ? `${ABNORMAL_REFUND_BANKS[target.bankType ?? ''] ?? '银行'}借记卡${apply.account_last4}` : '商户结算银行账户',
        settleAt: new Date(now.getTime() + processingMs(ctx)),
        apply,
      },
      now,
    );
    if (!reopened) throw errors.system(); // unreachable under the row lock
    return refundJson(reopened);
  });
}

function decodeTarget(
  req: AbnormalRefundRequest,
  keys: { serial: string | undefined; bySerial: SensitiveKeys },
): { bankType: string | null; account: string | null; name: string | null } {
  if (req.type === 'MERCHANT_BANK_CARD') return { bankType: null, account: null, name: null };
  if (!req.bank_type)
    throw errors.param('参数错误：bank_type必填', { field: '/bank_type', issue: 'bank_type is required for USER_BANK_CARD', location: 'body' });
  if (!req.bank_account)
    throw errors.param('参数错误：bank_account必填', { field: '/bank_account', issue: 'bank_account is required for USER_BANK_CARD', location: 'body' });
  if (!req.real_name)
    throw errors.param('参数错误：real_name必填', { field: '/real_name', issue: 'real_name is required for USER_BANK_CARD', location: 'body' });
  // The encrypted fields name their key through Wechatpay-Serial (reference §1.4): without it nothing decrypts.
  const key = keys.serial ? keys.bySerial[keys.serial] : undefined;
  if (!key) throw errors.sensitiveSerial();
  const decrypt = (field: 'bank_account' | 'real_name', value: string): string => {
    try {
      return decryptSensitive(key, value);
    } catch {
      throw errors.param(`参数错误：${field}解密失败`, {
        field: `/${field}`,
        issue: `${field} could not be decrypted with the key named by Wechatpay-Serial`,
        location: 'body',
      });
    }
  };
  const account = decrypt('bank_account', req.bank_account);
  const name = decrypt('real_name', req.real_name);
  if (!/^\d{12,30}$/.test(account))
    throw errors.param('参数错误：银行卡号格式错误', { field: '/bank_account', issue: 'bank_account must be 12-30 digits', location: 'body' });
  if (name.trim() === '' || [...name].length > 50)
    throw errors.param('参数错误：姓名格式错误', { field: '/real_name', issue: 'real_name must be 1-50 characters', location: 'body' });
  return { bankType: req.bank_type, account, name };
}

// ------------------------------------------------------------------ control API: refunds outside the API

/**
 * A refund made in the merchant platform (discrepancy injection): accepted and SUCCESS at once, bypassing the
 * spacing rule but not the amount rules, with no notification (the merchant's system never asked for it).
 */
export async function createExternalRefund(
  ctx: OrderContext,
  mchid: string,
  input: { outTradeNo: string; refundFen: number; outRefundNo?: string; at?: Date },
): Promise<RefundRow> {
  const now = input.at ?? clock(ctx);
  return ctx.sql.begin(async (tx) => {
    const order = await store.findOrder(tx, mchid, input.outTradeNo, true);
    if (!order?.success_time || (order.trade_state !== 'SUCCESS' && order.trade_state !== 'REFUND')) throw errors.refundOrderNotExist();
    const previous = await store.refundsOfOrder(tx, mchid, order.out_trade_no);
    if (previous.length >= MAX_REFUNDS_PER_ORDER) throw errors.tooManyRefunds();
    const committed = previous.filter((r) => r.status !== 'CLOSED').reduce((sum, r) => sum + r.amount_refund, 0);
    if (committed + input.refundFen > order.amount_total) throw errors.refundExceedsTotal();
    const refund = await store.insertRefund(tx, {
      mchid,
      out_refund_no: input.outRefundNo ?? `${Date.now()}${String(randomInt(1_000_000)).padStart(6, '0')}`,
      refund_id: newRefundId(now),
      out_trade_no: order.out_trade_no,
      transaction_id: order.transaction_id!,
      params: { external: true },
      reason: '商户平台退款',
      notify_url: order.notify_url,
      funds_account: 'AVAILABLE',
      amount_refund: input.refundFen,
      amount_total: order.amount_total,
      currency: order.currency,
      status: 'PROCESSING',
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      settle_at: now,
      planned_status: 'SUCCESS',
      fee_refund_fen: refundFee(ctx, order, input.refundFen, previous),
      created_at: now,
      external: true,
    });
    if (!refund) throw errors.refundParamsChanged();
    await store.markRefunded(tx, order, now);
    const done = await store.finishRefund(tx, refund, 'SUCCESS', now);
    return done ?? refund;
  });
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
