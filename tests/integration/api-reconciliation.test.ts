// GET /api/v1/reconciliation/days/{date} with real data: orders paid and one refunded through the API and the
// simulator, a trade unknown to us injected into the day's bill, the real pipeline (bills over HTTP, parser,
// matcher, report) run for the day, then read back. A database of its own: the day is compared whole.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discrepancies } from '@/db/schema';
import { addDays } from '@/server/reconciliation/days';
import { reconcileDate } from '@/server/reconciliation/reconcile';
import { SimControl } from '@/simulator/testkit';
import { api, makeKey } from '../helpers/api';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';

const SHANGHAI = 8 * 3600_000;
let h: Harness;
let sim: SimControl;
let key: string;
let day: string;

beforeAll(async () => {
  h = await startHarness({ ownDatabase: true, env: { ORDER_EXPIRE_MINUTES: String(3 * 24 * 60), API_RATE_LIMIT_PER_MINUTE: '100000' } });
  sim = new SimControl(h.simUrl);
  key = (await makeKey(h.db, ['orders:read', 'orders:write', 'refunds:write'])).secret;
  // The test day is the simulator's tomorrow, from 10:00 Beijing: the refund is booked in its fund flow a minute
  // later, so no trade of the day falls into the next day's bills whatever the hour the test runs at.
  day = addDays(new Date(Date.parse((await sim.clock()).now) + SHANGHAI).toISOString().slice(0, 10), 1);
  await simAt(day, 10, 0);
});
afterAll(async () => {
  await sim?.resetClock().catch(() => {});
  await h?.close();
});

/** The simulator's clock at hh:mm Beijing of `date` (it only moves forward). */
async function simAt(date: string, hour: number, minute = 0) {
  const target = Date.parse(`${date}T00:00:00Z`) - SHANGHAI + hour * 3600_000 + minute * 60_000;
  const now = Date.parse((await sim.clock()).now);
  if (target > now) await sim.advanceClock(target - now);
}

const uniq = () => `D${Date.now()}${Math.floor(Math.random() * 1e6)}`;
async function paidOrder(amountFen: number): Promise<{ id: string; outTradeNo: string }> {
  const res = await api('POST', '/orders', { key, body: { merchantOrderNo: uniq(), amountFen, description: 'reconcile' } });
  expect(res.status).toBe(201);
  await h.simPay(res.body.codeUrl);
  return eventually(async () => {
    const o = (await api('GET', `/orders/${res.body.id}`, { key })).body;
    return o.status === 'paid' ? o : null;
  }, 20_000);
}

const amounts = [1234, 999, 2550];
let unknownNo: string;

it('answers not_found for a day never reconciled, and invalid_request for a date that is not one', async () => {
  const paid = [];
  for (const a of amounts) paid.push(await paidOrder(a));
  const refund = await api('POST', `/orders/${paid[2]!.id}/refunds`, { key, body: { amountFen: 550 } });
  expect(refund.status, JSON.stringify(refund.body)).toBe(201);
  await eventually(async () => (await api('GET', `/refunds/${refund.body.id}`, { key })).body.status === 'succeeded', 30_000);
  unknownNo = (await sim.injectAnomaly({ kind: 'unknown_trade', amount_fen: 777 })).out_trade_no as string;

  const never = await api('GET', `/reconciliation/days/${day}`, { key });
  expect(never.status).toBe(404);
  expect(never.body.error).toMatchObject({ code: 'not_found', message: expect.stringContaining(`${day} has not been reconciled`) });
  for (const bad of ['2026-13-01', '2026-02-30', '20261201', 'yesterday']) {
    const res = await api('GET', `/reconciliation/days/${bad}`, { key });
    expect(res.status, bad).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toMatch(/path\.date/);
  }
});

it("after the bills are in: the day's status, matched share, discrepancies and the trade bill's settlement", async () => {
  await simAt(addDays(day, 1), 10, 5);
  const run = await reconcileDate(h.deps, day);
  expect(run.status).toBe('provisional'); // the next day's bill (the window) is not out yet

  const res = await api('GET', `/reconciliation/days/${day}`, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  // The simulator's own records of the day: our three payments, our refund and the trade it made alone.
  const truth = await sim.billTruth(day);
  expect(truth.trade.gross_fen).toBe(amounts.reduce((s, a) => s + a, 0) + 777);
  expect(truth.trade.paid_count).toBe(amounts.length + 1);
  expect(truth.trade.refunds_fen).toBe(550);
  expect(res.body).toMatchObject({
    date: day,
    status: 'provisional',
    settlement: {
      grossFen: truth.trade.gross_fen,
      settlementGrossFen: truth.trade.settlement_gross_fen,
      refundsFen: truth.trade.refunds_fen,
      feesFen: truth.trade.fees_fen,
      feeRefundsFen: truth.trade.fee_refunds_fen,
      netFen: truth.trade.net_fen,
    },
  });
  // 0.6 % of each, rounded to fen per trade: 7 + 6 + 15 + 5.
  expect(truth.trade.fees_fen).toBe(33);
  const s = res.body.settlement;
  expect(s.netFen).toBe(s.settlementGrossFen - s.refundsFen - s.feesFen + s.feeRefundsFen);
  // Three payments and a refund of ours match; the unknown trade does not.
  expect(res.body.matchedPercent).toBeGreaterThan(0);
  expect(res.body.matchedPercent).toBeLessThan(100);

  const rows = await h.db.select().from(discrepancies).where(eq(discrepancies.billDate, day));
  expect(res.body.discrepancies.map((d: { id: string }) => d.id).sort()).toEqual(rows.map((r) => r.id).sort());
  const unknown = res.body.discrepancies.find((d: { outTradeNo: string | null }) => d.outTradeNo === unknownNo);
  expect(unknown).toMatchObject({ class: 'external_trade', state: 'open', orderId: null, proposedFix: expect.any(String) });
});

it('once the next day closes the window the day reads reconciled, the same figures', async () => {
  const before = (await api('GET', `/reconciliation/days/${day}`, { key })).body;
  await simAt(addDays(day, 2), 10, 5);
  expect((await reconcileDate(h.deps, day)).status).toBe('reconciled');
  const after = await api('GET', `/reconciliation/days/${day}`, { key });
  expect(after.status).toBe(200);
  expect(after.body).toMatchObject({ status: 'reconciled', settlement: before.settlement, matchedPercent: before.matchedPercent });
  const readOnly = (await makeKey(h.db, ['refunds:write'])).secret;
  expect((await api('GET', `/reconciliation/days/${day}`, { key: readOnly })).status).toBe(403);
});
