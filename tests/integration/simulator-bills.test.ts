// Simulator bills that agree with the simulator's own trades (issue 16 item 5), over HTTP with the real client and
// parser and real Postgres: fees at the configured rate rounded per transaction, coupons, a fund-flow bill whose
// running balance carries from day to day, availability from 10:00 the next (simulated) day, NO_STATEMENT_EXIST,
// the bill as a snapshot, every injected discrepancy class — and the control API's Host check (issue 12).
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFundFlowBill, parseTradeBill, type TradeBill } from '../../server/wechatpay/bill';
import { WechatPayClient } from '../../server/wechatpay/client';
import { loadPrivateKey } from '../../server/wechatpay/crypto';
import { WechatPayApiError } from '../../server/wechatpay/errors';
import { CLOCK_CACHE_TTL_MS } from '../../simulator/clock';
import { ensureSimulatorCredentials, type SimCredentials } from '../../simulator/credentials';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { SimControl, simulatorVerifier } from '../../simulator/testkit';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const SHANGHAI = 8 * 3600 * 1000;

let dir: string;
let creds: SimCredentials;
let sim: RunningSimulator;
let immediate: RunningSimulator;
let control: SimControl;
let client: WechatPayClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'scanpay-sim-bills-'));
  creds = await ensureSimulatorCredentials(path.join(dir, 'credentials.json'));
  const common = { port: 0, databaseUrl: process.env.DATABASE_URL!, credentials: creds, timeScale: 0.001, refundSpacingMs: MINUTE, log: () => {} };
  sim = await startSimulator(common);
  // Same merchant and database, bills at once (SIM_BILLS_IMMEDIATE=true).
  immediate = await startSimulator({ ...common, billsImmediate: true });
  control = new SimControl(sim.url);
  client = clientFor(sim.url);
});

afterAll(async () => {
  await control?.resetClock().catch(() => {});
  await sim?.close();
  await immediate?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function clientFor(baseUrl: string): WechatPayClient {
  return new WechatPayClient({
    mchid: creds.mchid,
    appid: creds.appid,
    merchantSerial: creds.merchant.serial,
    merchantPrivateKey: loadPrivateKey(creds.merchant.privateKeyPem),
    verifier: simulatorVerifier(creds),
    baseUrl,
    retries: 0,
  });
}

let seq = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(seq++).toString().padStart(4, '0')}`.toUpperCase();

async function simNow(): Promise<number> {
  return Date.parse((await control.clock()).now);
}

/** The Beijing date of a simulated instant. */
function beijingDate(ms: number): string {
  return new Date(ms + SHANGHAI).toISOString().slice(0, 10);
}

/** Moves the simulated clock to `hh:mm` Beijing time of the day after `ms`'s day (or later that day if still ahead). */
async function advanceTo(date: string, hour: number, minute = 0): Promise<void> {
  const target = Date.parse(`${date}T00:00:00Z`) - SHANGHAI + hour * 3600_000 + minute * MINUTE;
  const now = await simNow();
  if (target > now) await control.advanceClock(target - now);
}

function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
}

async function order(total: number, coupon?: number): Promise<{ no: string; transactionId: string }> {
  const no = unique('BL');
  const { code_url } = await client.nativePrepay({
    description: '账单, 测试',
    out_trade_no: no,
    notify_url: 'https://merchant.invalid/notify',
    amount: { total, currency: 'CNY' },
  });
  const paid = await control.pay({ code_url, coupon_fen: coupon });
  return { no, transactionId: paid.transaction_id! };
}

async function tradeBill(date: string, c = client): Promise<TradeBill> {
  return parseTradeBill(await c.downloadBill(await c.applyTradeBill({ bill_date: date, bill_type: 'ALL', tar_type: 'GZIP' })));
}

async function fundBill(date: string, c = client) {
  return parseFundFlowBill(await c.downloadBill(await c.applyFundFlowBill({ bill_date: date, account_type: 'BASIC' })));
}

async function apiCode(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WechatPayApiError);
  return (err as WechatPayApiError).code;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('the control API answers only loopback Host names (issue 12)', () => {
  function get(host: string | undefined): Promise<number> {
    const url = new URL(sim.url);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = host === undefined ? {} : { Host: host };
      const req = request({ host: url.hostname, port: url.port, path: '/_sim/credentials', method: 'GET', headers, setHost: host !== undefined }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('127.0.0.1 and localhost, with or without a port, answer; anything else is 403', async () => {
    const port = new URL(sim.url).port;
    for (const ok of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `localhost:${port}`, 'LOCALHOST:3100']) expect(await get(ok), ok).toBe(200);
    for (const bad of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', 'localhost.evil', '127.0.0.2', '[::1]', `127.0.0.1:${port}:1`]) {
      expect(await get(bad), `Host: ${bad}`).toBe(403);
    }
    // No Host at all: node's server refuses an HTTP/1.1 request without one (400) before the simulator sees it.
    expect([400, 403]).toContain(await get(undefined));
  });

  it('the WeChat API and the phone page are not affected', async () => {
    const res = await fetch(`${sim.url}/v3/certificates`, { headers: { Host: 'api.mch.weixin.qq.com' } });
    expect(res.status).toBe(401); // unsigned: a WeChat error, not the Host refusal
  });
});

describe('the simulated clock', () => {
  it('moves forward only and is reported in Beijing time', async () => {
    const before = await control.clock();
    const after = await control.advanceClock(90 * MINUTE);
    expect(after.offset_ms - before.offset_ms).toBe(90 * MINUTE);
    expect(after.beijing).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    const back = await fetch(`${sim.url}/_sim/clock`, { method: 'POST', body: JSON.stringify({ to: new Date(Date.now() - DAY).toISOString() }) });
    expect(back.status).toBe(400);
    expect((await fetch(`${sim.url}/_sim/clock`, { method: 'POST', body: JSON.stringify({ advanceMs: -1 }) })).status).toBe(400);
  });
});

describe('bills agree with the trades', () => {
  it('fees rounded half up per payment, coupons, refunds; trade bill ↔ parser ↔ fund flow ↔ simulator records', async () => {
    // Start a fresh simulated day at 08:00 Beijing, so everything below falls inside it.
    const today = beijingDate(await simNow());
    const day = nextDate(today);
    await advanceTo(day, 8);
    const a = await order(10_000); // fee 60 fen
    const b = await order(83); // 0.498 fen → 0
    const c = await order(84); // 0.504 fen → 1
    const d = await order(5_000, 1_000); // coupon: settlement 4000 → fee 24
    await control.advanceClock(MINUTE);
    const r1 = await client.createRefund({ out_trade_no: a.no, out_refund_no: unique('BR'), amount: { refund: 2_500, total: 10_000, currency: 'CNY' } });
    expect(r1.status).toBe('PROCESSING');

    // Not before 10:00 the next day.
    expect(await apiCode(client.applyTradeBill({ bill_date: day }))).toBe('STATEMENT_CREATING');
    await advanceTo(nextDate(day), 9, 59);
    expect(await apiCode(client.applyTradeBill({ bill_date: day }))).toBe('STATEMENT_CREATING');
    await advanceTo(nextDate(day), 10);

    const bill = await tradeBill(day);
    const pay = bill.rows.filter((r) => r.tradeState === 'SUCCESS');
    const ref = bill.rows.filter((r) => r.tradeState === 'REFUND');
    expect(pay.map((r) => r.outTradeNo).sort()).toEqual([a.no, b.no, c.no, d.no].sort());
    const fee = Object.fromEntries(pay.map((r) => [r.outTradeNo, r.feeMilliFen / 1000]));
    expect(fee).toEqual({ [a.no]: 60, [b.no]: 0, [c.no]: 1, [d.no]: 24 });
    const rowD = pay.find((r) => r.outTradeNo === d.no)!;
    expect(rowD).toMatchObject({ totalFen: 5_000, couponFen: 1_000, settlementTotalFen: 4_000, rate: '0.60%' });
    expect(rowD.raw['手续费']).toBe('0.24000');
    expect(ref).toHaveLength(1);
    // 2500 of 10000 refunded: a quarter of the 60 fen fee comes back; the bill snapshot (09:00) shows SUCCESS.
    expect(ref[0]).toMatchObject({ outRefundNo: r1.out_refund_no, refundFen: 2_500, applyRefundFen: 2_500, feeMilliFen: -15_000, refundStatus: 'SUCCESS' });

    // Summary = sum of rows (what a reconciliation compares first).
    expect(bill.summary.count).toBe(5);
    expect(bill.summary.totalFen).toBe(sum(pay.map((r) => r.totalFen)));
    expect(bill.summary.settlementTotalFen).toBe(sum(pay.map((r) => r.settlementTotalFen)));
    expect(bill.summary.refundFen).toBe(2_500);
    expect(bill.summary.feeMilliFen).toBe(sum(bill.rows.map((r) => r.feeMilliFen)));

    // The simulator's records agree.
    const refunds = await control.refunds(a.no);
    expect(refunds.map((r) => r.fee_refund_fen)).toEqual([15]);

    // Fund flow: settlement in, fee out, refund out (a minute after acceptance), fee refund in.
    const flow = await fundBill(day);
    const income = flow.rows.filter((r) => r.direction === 'income');
    const expense = flow.rows.filter((r) => r.direction === 'expense');
    expect(sum(income.map((r) => r.amountFen))).toBe(10_000 + 83 + 84 + 4_000 + 15);
    expect(sum(expense.map((r) => r.amountFen))).toBe(60 + 1 + 24 + 2_500);
    expect(flow.summary).toMatchObject({
      count: flow.rows.length,
      incomeFen: sum(income.map((r) => r.amountFen)),
      expenseFen: sum(expense.map((r) => r.amountFen)),
    });
    expect(
      flow.rows
        .filter((r) => r.type === '扣除交易手续费')
        .map((r) => r.amountFen)
        .sort((x, y) => x - y),
    ).toEqual([1, 24, 60]);
    expect(flow.rows.find((r) => r.type === '退还交易手续费')?.amountFen).toBe(15);
    // Net of the trade bill (settlement − refunds − fees + fee refunds) = the fund flow's change over the day.
    const fees = sum(pay.map((r) => r.feeMilliFen)) / 1000;
    const net = bill.summary.settlementTotalFen - bill.summary.refundFen - fees + 15;
    expect(flow.summary.incomeFen - flow.summary.expenseFen).toBe(net);
    // The running balance: every row's 账户结余 follows from the previous one.
    for (let i = 1; i < flow.rows.length; i++) {
      const row = flow.rows[i]!;
      expect(row.balanceFen).toBe(flow.rows[i - 1]!.balanceFen + (row.direction === 'income' ? row.amountFen : -row.amountFen));
    }

    // The truth endpoint says the same (no injected discrepancies here).
    const truth = await control.billTruth(day);
    expect(truth.trade).toMatchObject({
      paid_count: 4,
      gross_fen: bill.summary.totalFen,
      settlement_gross_fen: bill.summary.settlementTotalFen,
      refunds_fen: 2_500,
      fees_fen: 85,
      fee_refunds_fen: 15,
      net_fen: net,
    });
    expect(truth.fund_basic).toMatchObject({
      income_fen: flow.summary.incomeFen,
      expense_fen: flow.summary.expenseFen,
      closing_fen: flow.rows.at(-1)!.balanceFen,
    });

    // The next day opens with the closing balance: one more payment there.
    const closing = flow.rows.at(-1)!.balanceFen;
    const e = await order(1_000);
    await advanceTo(nextDate(nextDate(day)), 10);
    const nextFlow = await fundBill(nextDate(day));
    const first = nextFlow.rows.find((r) => r.voucher === e.no && r.type === '交易')!;
    expect(first.balanceFen).toBe(closing + 1_000);

    // SUCCESS and REFUND bills of the same day agree with ALL.
    const success = parseTradeBill(await client.downloadBill(await client.applyTradeBill({ bill_date: day, bill_type: 'SUCCESS' })));
    expect(success.kind).toBe('SUCCESS');
    expect(success.summary.totalFen).toBe(bill.summary.totalFen);
    const refundOnly = parseTradeBill(await client.downloadBill(await client.applyTradeBill({ bill_date: day, bill_type: 'REFUND' })));
    expect(refundOnly.rows.map((r) => r.outRefundNo)).toEqual([r1.out_refund_no]);
    // Other fund accounts had no movements.
    expect(await apiCode(client.applyFundFlowBill({ bill_date: day, account_type: 'OPERATION' }))).toBe('NO_STATEMENT_EXIST');
  });

  it("cross-midnight: a refund accepted at 23:59:30 is in that day's trade bill and the next day's fund flow", async () => {
    const day = nextDate(beijingDate(await simNow()));
    await advanceTo(day, 23, 59);
    const p = await order(2_000);
    await control.advanceClock(30_000);
    const r = await client.createRefund({ out_trade_no: p.no, out_refund_no: unique('BX'), amount: { refund: 2_000, total: 2_000, currency: 'CNY' } });
    await advanceTo(nextDate(nextDate(day)), 10);
    const bill = await tradeBill(day);
    expect(
      bill.rows
        .filter((x) => x.outTradeNo === p.no)
        .map((x) => x.tradeState)
        .sort(),
    ).toEqual(['REFUND', 'SUCCESS']);
    expect(bill.rows.find((x) => x.tradeState === 'REFUND')!.tradeTime).toMatch(/ 23:59:3\d$/);
    const flowD = await fundBill(day);
    expect(flowD.rows.filter((x) => x.voucher === r.out_refund_no)).toHaveLength(0);
    const flowNext = await fundBill(nextDate(day));
    const booked = flowNext.rows.filter((x) => x.voucher === r.out_refund_no);
    expect(booked.map((x) => x.type).sort()).toEqual(['退款', '退还交易手续费']);
    expect(booked.find((x) => x.type === '退款')!.time).toMatch(/^\d{4}-\d{2}-\d{2} 00:00:\d\d$/);
    // A full refund gives the whole fee back: 2000 × 0.6 % = 12 fen.
    expect(booked.find((x) => x.type === '退还交易手续费')!.amountFen).toBe(12);
    const truth = await control.billTruth(day);
    expect(truth.trade.net_fen).toBe(0);
  });

  it('a day without trades is NO_STATEMENT_EXIST; the future is a PARAM_ERROR', async () => {
    const now = await simNow();
    const quiet = beijingDate(now - 80 * DAY);
    expect(await apiCode(client.applyTradeBill({ bill_date: quiet }))).toBe('NO_STATEMENT_EXIST');
    expect(await apiCode(client.applyFundFlowBill({ bill_date: quiet }))).toBe('NO_STATEMENT_EXIST');
    expect(await apiCode(client.applyTradeBill({ bill_date: beijingDate(now + DAY) }))).toBe('PARAM_ERROR');
  });

  it('SIM_BILLS_IMMEDIATE: today so far, at once; the bill is a snapshot of when it was applied for', async () => {
    const today = beijingDate(await simNow());
    // The other process sees a clock move within CLOCK_CACHE_TTL_MS.
    await new Promise((r) => setTimeout(r, CLOCK_CACHE_TTL_MS + 50));
    const fast = clientFor(immediate.url);
    const p = await order(700);
    const bill = await tradeBill(today, fast);
    expect(bill.rows.some((r) => r.outTradeNo === p.no)).toBe(true);
    // The other simulator (no immediate bills) still says the day is being created.
    expect(await apiCode(client.applyTradeBill({ bill_date: today }))).toBe('STATEMENT_CREATING');
    const applied = await fast.applyTradeBill({ bill_date: today });
    const q = await order(800);
    const snapshot = parseTradeBill(await fast.downloadBill(applied));
    expect(snapshot.rows.some((r) => r.outTradeNo === q.no)).toBe(false);
  });
});

describe('discrepancy injection (POST /_sim/bills/anomalies)', () => {
  it('every class shows in the bill as the reconciliation must find it', async () => {
    const day = nextDate(beijingDate(await simNow()));
    await advanceTo(day, 8);
    const at = new Date(await simNow()).toISOString();

    // A trade unknown to us: paid at WeChat, never created by the app, no notification.
    const unknown = await control.injectAnomaly({ kind: 'unknown_trade', amount_fen: 1_234, at });
    expect(unknown.bill_date).toBe(day);
    const unknownNo = String(unknown.out_trade_no);
    expect((await control.notifications(unknownNo)).notifications).toHaveLength(0);

    // A payment we never heard of: the app's order, paid, no notification, queries say NOTPAY; a close "works".
    const unheardNo = unique('UH');
    await client.nativePrepay({
      description: '没收到通知',
      out_trade_no: unheardNo,
      notify_url: 'https://merchant.invalid/notify',
      amount: { total: 990, currency: 'CNY' },
    });
    const unheard = await control.injectAnomaly({ kind: 'unheard_payment', out_trade_no: unheardNo });
    expect((await client.queryByOutTradeNo(unheardNo)).trade_state).toBe('NOTPAY');
    await client.closeOrder(unheardNo);
    expect((await client.queryByOutTradeNo(unheardNo)).trade_state).toBe('CLOSED');
    expect((await control.notifications(unheardNo)).notifications).toHaveLength(0);

    // A refund made outside (the merchant platform), an amount difference, a missing row, a fee difference.
    const refunded = await order(2_000);
    const outside = await control.injectAnomaly({ kind: 'external_refund', out_trade_no: refunded.no, amount_fen: 500 });
    const amount = await order(3_000);
    await control.injectAnomaly({ kind: 'amount_difference', out_trade_no: amount.no, bill_amount_fen: 3_001 });
    const missing = await order(4_000);
    await control.injectAnomaly({ kind: 'missing_row', out_trade_no: missing.no });
    const feeOrder = await order(5_000);
    const feeAnomaly = await control.injectAnomaly({ kind: 'fee_difference', out_trade_no: feeOrder.no, fee_fen: 45 });
    expect(feeAnomaly.expected_fee_fen).toBe(30);

    await advanceTo(nextDate(day), 10);
    // After the bill is out the hidden payment shows to queries: the automatic repair (query → paid) can work.
    expect(Date.parse(String(unheard.hidden_until))).toBeLessThanOrEqual(await simNow());
    expect((await client.queryByOutTradeNo(unheardNo)).trade_state).toBe('SUCCESS');

    const bill = await tradeBill(day);
    const row = (no: string) => bill.rows.find((r) => r.outTradeNo === no && r.tradeState === 'SUCCESS');
    expect(row(unknownNo)).toMatchObject({ totalFen: 1_234 });
    expect(row(unheardNo)).toMatchObject({ totalFen: 990, transactionId: unheard.transaction_id });
    expect(bill.rows.find((r) => r.tradeState === 'REFUND' && r.outTradeNo === refunded.no)).toMatchObject({
      outRefundNo: outside.out_refund_no,
      refundFen: 500,
      refundStatus: 'SUCCESS',
    });
    expect(row(amount.no)).toMatchObject({ totalFen: 3_001, settlementTotalFen: 3_001 });
    expect(row(missing.no)).toBeUndefined();
    // The truth still has the missing row and the real amount.
    const truth = await control.billTruth(day);
    expect(truth.trade.out_trade_nos).toContain(missing.no);
    expect(truth.trade.gross_fen - bill.summary.totalFen).toBe(4_000 - 1);
    expect(row(feeOrder.no)!.feeMilliFen).toBe(45_000);
    expect(bill.summary.feeMilliFen).toBe(sum(bill.rows.map((r) => r.feeMilliFen)));

    // The fund flow is what really happened: the missing row's money and the real amount are there,
    // the fee deducted is the billed one.
    const flow = await fundBill(day);
    const moved = (voucher: string, type: string) => flow.rows.find((r) => r.voucher === voucher && r.type === type)?.amountFen;
    expect(moved(missing.no, '交易')).toBe(4_000);
    expect(moved(amount.no, '交易')).toBe(3_000);
    expect(moved(feeOrder.no, '扣除交易手续费')).toBe(45);
    expect(moved(String(outside.out_refund_no), '退款')).toBe(500);
    // The simulator lists the outside refund as external.
    expect((await control.refunds(refunded.no))[0]).toMatchObject({ external: true, status: 'SUCCESS' });
  });

  it('refuses malformed anomalies', async () => {
    for (const body of [
      { kind: 'nope' },
      { kind: 'missing_row' },
      { kind: 'amount_difference', out_trade_no: 'X', bill_amount_fen: 1 },
      { kind: 'unknown_trade', amount_fen: 0 },
    ]) {
      const res = await fetch(`${sim.url}/_sim/bills/anomalies`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const res = await fetch(`${sim.url}/_sim/bills/anomalies`, { method: 'POST', body: JSON.stringify({ kind: 'missing_row', out_trade_no: 'NOSUCHORDER1' }) });
    expect(res.status).toBe(404);
  });
});
