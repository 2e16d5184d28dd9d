// Bills (reference §8): generated from the simulator's own records for any past day in Asia/Shanghai, in the
// real file format — UTF-8 BOM, CRLF, header, backtick-prefixed detail fields, a summary header and one summary
// line — amounts in yuan. Applying stores the exact bytes under an expiring token, so the SHA-1 handed out and
// the file downloaded later can never disagree even if more refunds happen in between.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { errors } from './errors';
import { clock, feeFor, feeRatePpm, type OrderContext } from './orders';
import { settleDueRefunds } from './refunds';
import * as store from './store';
import type { OrderRow, RefundRow, RefundWithOrder } from './store';

/** Download links live 5 minutes (2024 doc; the 2021 wiki said 30 s — reference §8.1). */
export const BILL_LINK_VALIDITY_MS = 5 * 60_000;
const DAY_MS = 24 * 3600 * 1000;
const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;
/** Bills exist from 09:00 the next day and WeChat says to fetch after 10:00; before that: STATEMENT_CREATING. */
const READY_AFTER_MS = DAY_MS + 10 * 3600 * 1000;
/** The snapshot time of a day's bill: 09:00 the next day. */
const GENERATED_AFTER_MS = DAY_MS + 9 * 3600 * 1000;
const MAX_AGE_DAYS = 92; // "within the last three months"
/**
 * A refund's money leaves the basic account a little after it is accepted (it moves to WeChat's intermediate
 * refund account): the fund-flow bill books it then, so a refund accepted at 23:59:30 is in the next day's fund
 * bill while the trade bill (acceptance time) has it the day before.
 */
export const REFUND_BOOKING_LAG_MS = 60_000;

/** `0.60%` from parts per million. */
function feeRateLabel(ppm: number): string {
  return `${Math.floor(ppm / 10_000)}.${String(Math.floor((ppm % 10_000) / 100)).padStart(2, '0')}%`;
}

const billDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'bill_date must be yyyy-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'bill_date is not a date');

/** Query parameters, strictly: an unknown parameter is a client bug worth a PARAM_ERROR. */
export const tradeBillQuery = z.strictObject({
  bill_date: billDate,
  bill_type: z.enum(['ALL', 'SUCCESS', 'REFUND']).optional(),
  tar_type: z.literal('GZIP').optional(),
});
export const fundFlowBillQuery = z.strictObject({
  bill_date: billDate,
  account_type: z.enum(['BASIC', 'OPERATION', 'FEES']).optional(),
  tar_type: z.literal('GZIP').optional(),
});
export type TradeBillQuery = z.infer<typeof tradeBillQuery>;
export type FundFlowBillQuery = z.infer<typeof fundFlowBillQuery>;

export interface AppliedBill {
  hash_type: 'SHA1';
  hash_value: string;
  download_url: string;
}

/** When the bill of `date` can be fetched: 10:00 Beijing time the next day (reference §8.1). */
export function billReadyAt(date: string): Date {
  return new Date(Date.parse(`${date}T00:00:00Z`) - SHANGHAI_OFFSET_MS + READY_AFTER_MS);
}

/** The Beijing calendar day (`yyyy-MM-DD`) of an instant. */
export function beijingDate(at: Date): string {
  return new Date(at.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/**
 * [start, end) of a Shanghai calendar day and the moment its bill was generated (the snapshot time: later
 * changes never show), with the availability checks every bill shares. With billsImmediate a day is available
 * at once and today's bill covers the day so far.
 */
function billDay(ctx: OrderContext, date: string): { from: Date; to: Date; generatedAt: Date } {
  const from = new Date(Date.parse(`${date}T00:00:00Z`) - SHANGHAI_OFFSET_MS);
  const now = clock(ctx).getTime();
  const todayStart = Math.floor((now + SHANGHAI_OFFSET_MS) / DAY_MS) * DAY_MS - SHANGHAI_OFFSET_MS;
  if (from.getTime() > todayStart)
    throw errors.param('参数错误：账单日期不能晚于今天', { field: 'bill_date', issue: 'bill_date is in the future', location: 'query' });
  if (from.getTime() < todayStart - MAX_AGE_DAYS * DAY_MS) {
    throw errors.param('参数错误：仅支持三个月内的账单', { field: 'bill_date', issue: 'bill_date is older than three months', location: 'query' });
  }
  const dayEnd = from.getTime() + DAY_MS;
  if (ctx.billsImmediate) return { from, to: new Date(Math.min(dayEnd, now)), generatedAt: new Date(now) };
  if (now < from.getTime() + READY_AFTER_MS) throw errors.statementCreating();
  return { from, to: new Date(dayEnd), generatedAt: new Date(from.getTime() + GENERATED_AFTER_MS) };
}

/** A trade-bill payment row's facts, after any injected discrepancy. */
interface BillPayment {
  order: OrderRow;
  /** 订单金额 as the bill shows it. */
  totalFen: number;
  couponFen: number;
  feeFen: number;
}

/** A refund as the bill's snapshot shows it: the status it had when the bill was generated. */
interface BillRefund {
  refund: RefundWithOrder;
  status: string;
  successTime: Date | null;
}

async function billPayments(ctx: OrderContext, mchid: string, from: Date, to: Date): Promise<BillPayment[]> {
  const orders = await store.paidOrdersBetween(ctx.sql, mchid, from, to);
  const overrides = await store.billOverrides(
    ctx.sql,
    mchid,
    orders.map((o) => o.out_trade_no),
  );
  const missing = new Set(overrides.filter((o) => o.kind === 'missing').map((o) => o.out_trade_no));
  const amounts = new Map(overrides.filter((o) => o.kind === 'amount').map((o) => [o.out_trade_no, Number(o.value.total_fen)]));
  const ppm = feeRatePpm(ctx);
  return orders
    .filter((o) => !missing.has(o.out_trade_no))
    .map((o) => ({
      order: o,
      totalFen: amounts.get(o.out_trade_no) ?? o.amount_total,
      couponFen: o.coupon_fen,
      feeFen: o.fee_fen ?? feeFor(o.amount_total - o.coupon_fen, ppm),
    }));
}

async function billRefunds(ctx: OrderContext, mchid: string, from: Date, to: Date, generatedAt: Date): Promise<BillRefund[]> {
  const refunds = await store.refundsBetween(ctx.sql, mchid, from, to);
  return refunds.map((r) => {
    const gen = generatedAt.getTime();
    if (r.success_time && r.success_time.getTime() <= gen) return { refund: r, status: 'SUCCESS', successTime: r.success_time };
    if ((r.status === 'CLOSED' || r.status === 'ABNORMAL') && r.updated_at.getTime() <= gen) return { refund: r, status: r.status, successTime: null };
    return { refund: r, status: 'PROCESSING', successTime: null };
  });
}

/** Refunds due by now are settled first (as of their settle time), so a bill never depends on whether a background tick ran. */
async function settleRefundsDue(ctx: OrderContext, mchid: string) {
  while ((await settleDueRefunds(ctx, mchid, 500)) === 500);
}

export async function applyTradeBill(ctx: OrderContext, mchid: string, q: TradeBillQuery, origin: string): Promise<AppliedBill> {
  await settleRefundsDue(ctx, mchid);
  const { from, to, generatedAt } = billDay(ctx, q.bill_date);
  const type = q.bill_type ?? 'ALL';
  const payments = type === 'REFUND' ? [] : await billPayments(ctx, mchid, from, to);
  const refunds = type === 'SUCCESS' ? [] : await billRefunds(ctx, mchid, from, to, generatedAt);
  if (payments.length + refunds.length === 0) throw errors.noStatement();
  const rate = feeRateLabel(feeRatePpm(ctx));
  const text = type === 'SUCCESS' ? successBill(payments, rate) : type === 'REFUND' ? refundBill(refunds, rate) : allBill(payments, refunds, rate);
  return publish(ctx, mchid, 'tradebill', q.bill_date, text, q.tar_type === 'GZIP', origin);
}

export async function applyFundFlowBill(ctx: OrderContext, mchid: string, q: FundFlowBillQuery, origin: string): Promise<AppliedBill> {
  await settleRefundsDue(ctx, mchid);
  const { from, to } = billDay(ctx, q.bill_date);
  // Every simulated payment, fee and refund moves money in the basic account; the others never see any.
  if ((q.account_type ?? 'BASIC') !== 'BASIC') throw errors.noStatement();
  const entries = await fundEntries(ctx, mchid, from, to);
  if (entries.length === 0) throw errors.noStatement();
  const opening = await store.basicBalanceBefore(ctx.sql, mchid, from, REFUND_BOOKING_LAG_MS);
  return publish(ctx, mchid, 'fundflowbill', q.bill_date, fundFlowBill(entries, opening), q.tar_type === 'GZIP', origin);
}

/**
 * The truth about one Beijing day from the simulator's records — what the bills say before any injected
 * discrepancy — for tests of the settlement report (`GET /_sim/bills/{date}/truth`; no availability rules).
 */
export async function dayTruth(ctx: OrderContext, mchid: string, date: string): Promise<Record<string, unknown>> {
  const from = new Date(Date.parse(`${date}T00:00:00Z`) - SHANGHAI_OFFSET_MS);
  const to = new Date(from.getTime() + DAY_MS);
  const ppm = feeRatePpm(ctx);
  const [orders, refunds, entries, opening] = await Promise.all([
    store.paidOrdersBetween(ctx.sql, mchid, from, to),
    store.refundsBetween(ctx.sql, mchid, from, to),
    fundEntries(ctx, mchid, from, to),
    store.basicBalanceBefore(ctx.sql, mchid, from, REFUND_BOOKING_LAG_MS),
  ]);
  const sumOf = <T>(xs: T[], f: (x: T) => number) => xs.reduce((acc, x) => acc + f(x), 0);
  const gross = sumOf(orders, (o) => o.amount_total);
  const coupons = sumOf(orders, (o) => o.coupon_fen);
  const fees = sumOf(orders, (o) => o.fee_fen ?? feeFor(o.amount_total - o.coupon_fen, ppm));
  const refunded = sumOf(refunds, (r) => r.amount_refund);
  const feeRefunds = sumOf(refunds, (r) => r.fee_refund_fen);
  const income = sumOf(
    entries.filter((e) => e.kind === 'income'),
    (e) => e.fen,
  );
  const expense = sumOf(
    entries.filter((e) => e.kind === 'expense'),
    (e) => e.fen,
  );
  return {
    date,
    fee_rate: feeRateLabel(ppm),
    trade: {
      paid_count: orders.length,
      gross_fen: gross,
      coupon_fen: coupons,
      settlement_gross_fen: gross - coupons,
      refund_count: refunds.length,
      refunds_fen: refunded,
      fees_fen: fees,
      fee_refunds_fen: feeRefunds,
      net_fen: gross - coupons - refunded - fees + feeRefunds,
      out_trade_nos: orders.map((o) => o.out_trade_no),
      out_refund_nos: refunds.map((r) => r.out_refund_no),
    },
    fund_basic: { count: entries.length, opening_fen: opening, income_fen: income, expense_fen: expense, closing_fen: opening + income - expense },
  };
}

/** GET /v3/billdownload/file?token=…: the stored bytes (gzip when applied for), or an expired-link error. */
export async function download(ctx: OrderContext, mchid: string, token: string): Promise<{ content: Buffer; gzip: boolean }> {
  const found = await store.findBillDownload(ctx.sql, mchid, token);
  if (!found) throw errors.param('参数错误：token无效', { field: 'token', issue: 'unknown token', location: 'query' });
  if (found.expires_at.getTime() <= clock(ctx).getTime()) throw errors.billLinkExpired();
  return { content: found.content, gzip: found.gzip };
}

async function publish(
  ctx: OrderContext,
  mchid: string,
  kind: 'tradebill' | 'fundflowbill',
  date: string,
  text: string,
  gzip: boolean,
  origin: string,
): Promise<AppliedBill> {
  const plain = Buffer.from(text, 'utf8');
  const token = randomBytes(20).toString('hex');
  const now = clock(ctx);
  await store.insertBillDownload(ctx.sql, {
    token,
    mchid,
    kind,
    bill_date: date,
    gzip,
    content: gzip ? gzipSync(plain) : plain,
    expires_at: new Date(now.getTime() + BILL_LINK_VALIDITY_MS),
    created_at: now,
  });
  return {
    hash_type: 'SHA1',
    // Over the uncompressed file, whatever the transfer encoding (reference §8.3).
    hash_value: createHash('sha1').update(plain).digest('hex'),
    download_url: `${origin}/v3/billdownload/file?token=${token}${gzip ? '&tartype=gzip' : ''}`,
  };
}

// ------------------------------------------------------------------ file format

const ALL_COLUMNS = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '申请退款金额',
  '费率备注',
];
const SUCCESS_COLUMNS = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '费率备注',
];
const REFUND_COLUMNS = [...ALL_COLUMNS.slice(0, 14), '退款申请时间', '退款成功时间', ...ALL_COLUMNS.slice(14)];
const ALL_SUMMARY = ['总交易单数', '应结订单总金额', '退款总金额', '充值券退款总金额', '手续费总金额', '订单总金额', '申请退款总金额'];
const SUCCESS_SUMMARY = ['总交易单数', '应结订单总金额', '手续费总金额', '订单总金额'];
const FUND_FLOW_COLUMNS = [
  '记账时间',
  '微信支付业务单号',
  '资金流水单号',
  '业务名称',
  '业务类型',
  '收支类型',
  '收支金额（元）',
  '账户结余（元）',
  '资金变更提交申请人',
  '备注',
  '业务凭证号',
];
const FUND_FLOW_SUMMARY = ['资金流水总笔数', '收入笔数', '收入金额', '支出笔数', '支出金额'];

type Row = Record<string, string>;

/** Integer fen → `12.34` (string arithmetic only: bills are where floating point would bite). */
export function fenToYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** Units of 1e-5 yuan → `0.07404` (the fee column's five decimals). */
function feeUnitsToYuan(units: number): string {
  const sign = units < 0 ? '-' : '';
  const abs = Math.abs(units);
  return `${sign}${Math.floor(abs / 100_000)}.${String(abs % 100_000).padStart(5, '0')}`;
}

/** Fee total: five decimals, trailing zeros trimmed down to two (`0.08`, `0.07404`), exact either way. */
function feeTotal(units: number): string {
  return feeUnitsToYuan(units).replace(/(\.\d\d\d*?)0+$/, '$1');
}

/** `2019-02-19 05:01:46` in Beijing time. */
function billTime(date: Date): string {
  return new Date(date.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

function paymentRow(p: BillPayment, rate: string): Row {
  const o = p.order;
  return {
    交易时间: billTime(o.success_time!),
    公众账号ID: o.appid,
    商户号: o.mchid,
    特约商户号: '0',
    设备号: o.device_id ?? '',
    微信订单号: o.transaction_id ?? '',
    商户订单号: o.out_trade_no,
    用户标识: o.payer_openid ?? '',
    交易类型: 'NATIVE',
    交易状态: 'SUCCESS',
    付款银行: 'OTHERS',
    货币种类: o.currency,
    // 应结订单金额 = 订单金额 − non-recharge coupons (reference merchant-features §4.1).
    应结订单金额: fenToYuan(p.totalFen - p.couponFen),
    代金券金额: fenToYuan(p.couponFen),
    微信退款单号: '0',
    商户退款单号: '0',
    退款金额: '0.00',
    充值券退款金额: '0.00',
    退款类型: '',
    退款状态: '',
    商品名称: o.description,
    商户数据包: o.attach ?? '',
    // Whole fen (rounded half up per transaction), written with the column's five decimals.
    手续费: feeUnitsToYuan(p.feeFen * 1000),
    费率: rate,
    订单金额: fenToYuan(p.totalFen),
    申请退款金额: '0.00',
    费率备注: '',
  };
}

function refundRow(b: BillRefund, rate: string): Row {
  const r = b.refund;
  return {
    // In the ALL bill a refund row's time is its application time (reference §8.4).
    交易时间: billTime(r.created_at),
    公众账号ID: r.order_appid,
    商户号: r.mchid,
    特约商户号: '0',
    设备号: r.order_device_id ?? '',
    微信订单号: r.transaction_id,
    商户订单号: r.out_trade_no,
    用户标识: r.order_payer_openid ?? '',
    交易类型: 'NATIVE',
    交易状态: 'REFUND',
    付款银行: 'OTHERS',
    货币种类: r.currency,
    应结订单金额: '0.00',
    代金券金额: '0.00',
    退款申请时间: billTime(r.created_at),
    退款成功时间: b.successTime ? billTime(b.successTime) : '',
    微信退款单号: r.refund_id,
    商户退款单号: r.out_refund_no,
    退款金额: fenToYuan(r.amount_refund),
    充值券退款金额: '0.00',
    退款类型: r.channel,
    // The status when the bill was generated; the bill is never updated afterwards (query the refund).
    退款状态: b.status,
    商品名称: r.order_description,
    商户数据包: r.order_attach ?? '',
    // The fee on the refunded part comes back, hence negative.
    手续费: feeUnitsToYuan(-r.fee_refund_fen * 1000),
    费率: rate,
    订单金额: '0.00',
    申请退款金额: fenToYuan(r.amount_refund),
    费率备注: '',
  };
}

function tradeSummary(payments: BillPayment[], refunds: BillRefund[]): Row {
  const settlement = payments.reduce((s, p) => s + p.totalFen - p.couponFen, 0);
  const total = payments.reduce((s, p) => s + p.totalFen, 0);
  const refunded = refunds.reduce((s, r) => s + r.refund.amount_refund, 0);
  const fees = payments.reduce((s, p) => s + p.feeFen, 0) - refunds.reduce((s, r) => s + r.refund.fee_refund_fen, 0);
  return {
    总交易单数: String(payments.length + refunds.length),
    应结订单总金额: fenToYuan(settlement),
    退款总金额: fenToYuan(refunded),
    充值券退款总金额: '0.00',
    手续费总金额: feeTotal(fees * 1000),
    订单总金额: fenToYuan(total),
    申请退款总金额: fenToYuan(refunded),
  };
}

function byTime(a: Row, b: Row): number {
  return a.交易时间! < b.交易时间! ? -1 : a.交易时间! > b.交易时间! ? 1 : 0;
}

function allBill(payments: BillPayment[], refunds: BillRefund[], rate: string): string {
  const rows = [...payments.map((p) => paymentRow(p, rate)), ...refunds.map((r) => refundRow(r, rate))].sort(byTime);
  return render(ALL_COLUMNS, rows, ALL_SUMMARY, tradeSummary(payments, refunds));
}

function successBill(payments: BillPayment[], rate: string): string {
  const s = tradeSummary(payments, []);
  return render(
    SUCCESS_COLUMNS,
    payments.map((p) => paymentRow(p, rate)),
    SUCCESS_SUMMARY,
    {
      总交易单数: s.总交易单数!,
      应结订单总金额: s.应结订单总金额!,
      手续费总金额: s.手续费总金额!,
      订单总金额: s.订单总金额!,
    },
  );
}

function refundBill(refunds: BillRefund[], rate: string): string {
  // In the REFUND bill 交易时间 stays the payment's time; the refund's own times have their columns.
  const rows = refunds.map((r) => ({ ...refundRow(r, rate), 交易时间: billTime(r.refund.order_success_time) }));
  return render(REFUND_COLUMNS, rows, ALL_SUMMARY, tradeSummary([], refunds));
}

/** One movement of the basic account. */
export interface FundEntry {
  at: Date;
  kind: 'income' | 'expense';
  fen: number;
  name: string;
  type: string;
  /** 微信支付业务单号: the transaction_id or refund_id. */
  ref: string;
  /** 业务凭证号: out_trade_no or out_refund_no. */
  voucher: string;
}

/**
 * The basic account's movements in [from, to), from the simulator's records (never from the trade bill's injected
 * differences: the fund flow is what really happened): each payment's settlement amount in and its fee out at
 * the success time; each refund out and its fee refund in when booked (acceptance + REFUND_BOOKING_LAG_MS);
 * a refund that ended CLOSED back in (退款关闭), its fee charged again.
 */
async function fundEntries(ctx: OrderContext, mchid: string, from: Date, to: Date): Promise<FundEntry[]> {
  const [orders, booked, closed] = await Promise.all([
    store.paidOrdersBetween(ctx.sql, mchid, from, to),
    store.refundsBookedBetween(ctx.sql, mchid, from, to, REFUND_BOOKING_LAG_MS),
    store.refundsClosedBetween(ctx.sql, mchid, from, to),
  ]);
  const ppm = feeRatePpm(ctx);
  const entries: FundEntry[] = [];
  for (const o of orders) {
    const ref = o.transaction_id ?? '';
    entries.push({ at: o.success_time!, kind: 'income', fen: o.amount_total - o.coupon_fen, name: '交易', type: '交易', ref, voucher: o.out_trade_no });
    const fee = o.fee_fen ?? feeFor(o.amount_total - o.coupon_fen, ppm);
    if (fee > 0) entries.push({ at: o.success_time!, kind: 'expense', fen: fee, name: '手续费', type: '扣除交易手续费', ref, voucher: o.out_trade_no });
  }
  const refundEntry = (r: RefundRow, at: Date, reopened: boolean): void => {
    entries.push({
      at,
      kind: reopened ? 'income' : 'expense',
      fen: r.amount_refund,
      name: '退款',
      type: reopened ? '退款关闭' : '退款',
      ref: r.refund_id,
      voucher: r.out_refund_no,
    });
    if (r.fee_refund_fen > 0) {
      entries.push({
        at,
        kind: reopened ? 'expense' : 'income',
        fen: r.fee_refund_fen,
        name: '手续费',
        type: reopened ? '扣除交易手续费' : '退还交易手续费',
        ref: r.refund_id,
        voucher: r.out_refund_no,
      });
    }
  };
  for (const r of booked) refundEntry(r, new Date(r.created_at.getTime() + REFUND_BOOKING_LAG_MS), false);
  for (const r of closed) refundEntry(r, r.updated_at, true);
  // Stable: same-time movements keep the order they were pushed in (a payment before its fee).
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at.getTime() - b.e.at.getTime() || a.i - b.i)
    .map(({ e }) => e);
}

function fundFlowBill(entries: FundEntry[], opening: number): string {
  let balance = opening;
  const rows = entries.map((e): Row => {
    balance += e.kind === 'income' ? e.fen : -e.fen;
    return {
      记账时间: billTime(e.at),
      微信支付业务单号: e.ref,
      资金流水单号: `${randomBytes(12)
        .toString('hex')
        .replace(/[a-f]/g, (c) => String(c.charCodeAt(0) % 10))}`,
      业务名称: e.name,
      业务类型: e.type,
      收支类型: e.kind === 'income' ? '收入' : '支出',
      '收支金额（元）': fenToYuan(e.fen),
      '账户结余（元）': fenToYuan(balance),
      资金变更提交申请人: 'system',
      备注: '',
      业务凭证号: e.voucher,
    };
  });
  const income = entries.filter((e) => e.kind === 'income');
  const expense = entries.filter((e) => e.kind === 'expense');
  return render(FUND_FLOW_COLUMNS, rows, FUND_FLOW_SUMMARY, {
    资金流水总笔数: String(entries.length),
    收入笔数: String(income.length),
    收入金额: fenToYuan(income.reduce((s, e) => s + e.fen, 0)),
    支出笔数: String(expense.length),
    支出金额: fenToYuan(expense.reduce((s, e) => s + e.fen, 0)),
  });
}

/**
 * BOM + header + backtick-prefixed detail lines + summary header + backtick-prefixed summary line, every line
 * ending in CRLF (reference §8.4). Commas inside values are replaced, as WeChat does not quote fields.
 */
function render(columns: string[], rows: Row[], summaryColumns: string[], summary: Row): string {
  const line = (values: string[]) => values.map((v) => `\`${v.replaceAll(',', '，').replace(/[\r\n]/g, ' ')}`).join(',');
  const lines = [
    columns.join(','),
    ...rows.map((r) => line(columns.map((c) => r[c] ?? ''))),
    summaryColumns.join(','),
    line(summaryColumns.map((c) => summary[c] ?? '')),
  ];
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
