// Reconciliation end to end (issue 16 §2, §6): the real simulator's bills over HTTP, the real client, parser,
// Postgres and worker. Each discrepancy class is injected through the simulator's control API and followed to
// its resolution; the day is recomputed and nothing is written twice; a refund accepted at 23:59:30 Beijing is
// in that day's trade bill and the next day's fund flow.
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, billFiles, billTradeRows, discrepancies, orderEvents, orders, outboxEvents, paymentAttempts, refunds } from '@/db/schema';
import { addDays } from '@/server/reconciliation/days';
import { decideDiscrepancy } from '@/server/reconciliation/discrepancies';
import { reconcileDate } from '@/server/reconciliation/reconcile';
import { reconciliationDay } from '@/server/reconciliation/report';
import { SimControl } from '@/simulator/testkit';
import { eventually, startHarness, trpcCall, type Harness } from '../helpers/app-harness';

const MINUTE = 60_000;
const SHANGHAI = 8 * 3600_000;

let h: Harness;
let sim: SimControl;
let day: string;

beforeAll(async () => {
  h = await startHarness({
    ownDatabase: true,
    env: {
      ORDER_EXPIRE_MINUTES: String(3 * 24 * 60),
      CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000',
      LATE_PAYMENT_POLICY: 'refund',
      // The worker's own active queries come hours late: what the bills find is the reconciliation's to repair,
      // however long the setup takes on a loaded machine.
      COMPENSATION_TIME_SCALE: '100',
    },
  });
  sim = new SimControl(h.simUrl);
  // Every trade of the test day happens in its last two minutes (Beijing): cross-midnight by construction.
  const now = Date.parse((await sim.clock()).now);
  day = new Date(now + SHANGHAI).toISOString().slice(0, 10);
  await advanceTo(day, 23, 58);
});

afterAll(async () => {
  await sim?.resetClock().catch(() => {});
  await h?.close();
});

async function advanceTo(date: string, hour: number, minute = 0, second = 0): Promise<void> {
  const target = Date.parse(`${date}T00:00:00Z`) - SHANGHAI + hour * 3600_000 + minute * MINUTE + second * 1000;
  const now = Date.parse((await sim.clock()).now);
  if (target > now) await sim.advanceClock(target - now);
}

interface Placed {
  orderId: string;
  outTradeNo: string;
  codeUrl: string;
  token: string;
}

async function place(quantity = 1): Promise<Placed> {
  const created = await trpcCall(h.appUrl, 'checkout.create', { items: [{ productId: 'longjing-tea', quantity }] }, 'mutation');
  const token = created.data.token as string;
  const view = await eventually(async () => {
    const v = (await trpcCall(h.appUrl, 'checkout.status', { token })).data;
    return v?.codeUrl ? v : null;
  });
  const [order] = await h.db.select().from(orders).where(eq(orders.token, token));
  return { orderId: order!.id, outTradeNo: view.outTradeNo, codeUrl: view.codeUrl, token };
}

async function paid(p: Placed, coupon?: number): Promise<string> {
  const r = await sim.pay({ code_url: p.codeUrl, coupon_fen: coupon });
  await eventually(async () => (await h.db.select().from(orders).where(eq(orders.id, p.orderId)))[0]?.status === 'paid');
  return r.transaction_id!;
}

async function found(cls: string, where: { orderId?: string; outTradeNo?: string }) {
  const rows = await h.db.select().from(discrepancies).where(eq(discrepancies.class, cls));
  return rows.filter((d) => (where.orderId ? d.orderId === where.orderId : true) && (where.outTradeNo ? d.outTradeNo === where.outTradeNo : true));
}

const s = {} as {
  normal: Placed;
  unheard: Placed;
  amount: Placed;
  fee: Placed;
  refunded: Placed;
  missing: Placed;
  late: Placed;
  lateRefundNo: string;
  externalNo: string;
  lostNo: string;
};

describe('a day with every discrepancy class', () => {
  it('sets the day up through the simulator', async () => {
    s.normal = await place();
    await paid(s.normal, 50);
    s.unheard = await place();
    await sim.injectAnomaly({ kind: 'unheard_payment', out_trade_no: s.unheard.outTradeNo });
    s.amount = await place();
    await paid(s.amount);
    await sim.injectAnomaly({ kind: 'amount_difference', out_trade_no: s.amount.outTradeNo, bill_amount_fen: 1 });
    s.fee = await place(3);
    await paid(s.fee);
    await sim.injectAnomaly({ kind: 'fee_difference', out_trade_no: s.fee.outTradeNo, fee_fen: 999 });
    s.missing = await place();
    await paid(s.missing);
    await sim.injectAnomaly({ kind: 'missing_row', out_trade_no: s.missing.outTradeNo });
    s.externalNo = (await sim.injectAnomaly({ kind: 'unknown_trade', amount_fen: 1234 })).out_trade_no as string;
    // Shaped like ours (SP + Beijing stamp + 12 characters) yet unknown here: an order we lost.
    s.lostNo = `SP${day.replaceAll('-', '')}235800LOSTORDER001`.slice(0, 28);
    await sim.injectAnomaly({ kind: 'unknown_trade', amount_fen: 777, out_trade_no: s.lostNo });
    s.refunded = await place(2);
    await paid(s.refunded);
    // A refund made in the merchant platform, accepted at 23:59:30: trade bill today, fund flow tomorrow.
    await advanceTo(day, 23, 59, 30);
    s.lateRefundNo = (await sim.injectAnomaly({ kind: 'external_refund', out_trade_no: s.refunded.outTradeNo, amount_fen: 100 })).out_refund_no as string;
  });

  it('before 10:00 the next day the bills are not ready: a status, nothing declared', async () => {
    await advanceTo(addDays(day, 1), 9, 30);
    const run = await reconcileDate(h.deps, day);
    expect(run.status).toBe('pending');
    expect(run.files.find((f) => f.kind === 'trade_ALL')?.status).toBe('not_ready');
    expect(await h.db.select().from(discrepancies)).toHaveLength(0);
  });

  it('after 10:00: imports, repairs the safe classes, declares the rest', async () => {
    await advanceTo(addDays(day, 1), 10, 5);
    const run = await reconcileDate(h.deps, day);
    expect(run.status).toBe('provisional'); // tomorrow's bill is not out yet: the window is open
    const files = await h.db.select().from(billFiles).where(eq(billFiles.billDate, day));
    const byKind = Object.fromEntries(files.map((f) => [f.kind, f]));
    expect(byKind.trade_ALL?.status).toBe('imported');
    expect(byKind.trade_ALL?.sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(byKind.trade_ALL?.raw?.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // kept, gzip
    expect(byKind.fund_BASIC?.status).toBe('imported');
    expect(byKind.fund_OPERATION?.status).toBe('no_statement');

    // bill paid / local unpaid → query → paid through markPaid with path `bill`.
    const [unheard] = await h.db.select().from(orders).where(eq(orders.id, s.unheard.orderId));
    expect(unheard?.status).toBe('paid');
    expect(unheard?.paidVia).toBe('bill');
    const [d1] = await found('local_unpaid', { orderId: s.unheard.orderId });
    expect(d1?.state).toBe('auto_resolved');
    expect(d1?.resolution).toMatchObject({ action: 'query_then_mark_paid', outcome: 'paid' });
    const unheardEvents = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, s.unheard.orderId));
    expect(unheardEvents.find((e) => e.type === 'order.paid')?.source).toBe('bill');
    expect(unheardEvents.some((e) => e.type === 'reconciliation.discrepancy' && e.source === 'bill')).toBe(true);
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(and(eq(outboxEvents.orderId, s.unheard.orderId), eq(outboxEvents.topic, 'payment.succeeded'))),
    ).toHaveLength(1);

    // amount mismatch → frozen for review, open.
    const [d2] = await found('amount_mismatch', { orderId: s.amount.orderId });
    expect(d2).toMatchObject({ state: 'open', proposedFix: 'review_frozen_order' });
    expect(d2?.bill).toMatchObject({ totalFen: 1 });
    expect((await h.db.select().from(orders).where(eq(orders.id, s.amount.orderId)))[0]?.status).toBe('review');

    // fee difference → billed fee adopted (automatic), and more than rounding in a day → an alert.
    const [d3] = await found('fee_mismatch', { orderId: s.fee.orderId });
    expect(d3?.state).toBe('auto_resolved');
    expect(d3?.resolution).toMatchObject({ billedFeeFen: 999 });
    expect((await h.db.select().from(alerts).where(eq(alerts.kind, 'reconciliation_fee'))).length).toBe(1);

    // external trade → open, "external"; ours by prefix → P1 alert.
    expect((await found('external_trade', { outTradeNo: s.externalNo }))[0]?.state).toBe('open');
    const [lost] = await found('order_missing', { outTradeNo: s.lostNo });
    expect(lost).toMatchObject({ proposedFix: 'rebuild_from_query', state: 'auto_resolved' });
    const p1 = await h.db.select().from(alerts).where(eq(alerts.kind, 'reconciliation_order_missing'));
    expect(p1.map((a) => (a.data as { priority: string }).priority)).toEqual(['P1']);
    // ... and rebuilt from WeChat's query: an order and attempt with that out_trade_no, paid with path `bill`.
    const [rebuiltAttempt] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, s.lostNo));
    expect(rebuiltAttempt).toMatchObject({ status: 'paid', paidVia: 'bill', amountFen: 777, orderId: lost!.orderId, transactionId: lost!.transactionId });
    expect(lost?.resolution).toMatchObject({ action: 'rebuilt_from_query', orderId: lost!.orderId });
    expect(await h.db.select().from(orders).where(eq(orders.id, lost!.orderId!))).toMatchObject([{ status: 'paid', amountFen: 777, paidVia: 'bill' }]);
    const lostEvents = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, lost!.orderId!));
    expect(lostEvents.map((e) => [e.type, e.source])).toEqual(
      expect.arrayContaining([
        ['order.rebuilt', 'bill'],
        ['order.paid', 'bill'],
        ['reconciliation.discrepancy', 'bill'],
      ]),
    );
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(and(eq(outboxEvents.orderId, lost!.orderId!), eq(outboxEvents.topic, 'payment.succeeded'))),
    ).toHaveLength(1);

    // refund in the bill, not ours → imported as external, order partially refunded, refund.succeeded emitted.
    const [ext] = await h.db.select().from(refunds).where(eq(refunds.outRefundNo, s.lateRefundNo));
    expect(ext).toMatchObject({ kind: 'external', status: 'succeeded', amountFen: 100, orderId: s.refunded.orderId });
    const [refundedOrder] = await h.db.select().from(orders).where(eq(orders.id, s.refunded.orderId));
    expect(refundedOrder).toMatchObject({ status: 'partially_refunded', refundedFen: 100 });
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(eq(outboxEvents.dedupeKey, `refund.succeeded:${ext!.id}`)),
    ).toHaveLength(1);
    expect((await found('external_refund', { orderId: s.refunded.orderId }))[0]?.state).toBe('auto_resolved');

    // Cross-midnight: the 23:59:30 refund is in today's trade bill, not in today's fund flow.
    const [refundRow] = await h.db.select().from(billTradeRows).where(eq(billTradeRows.outRefundNo, s.lateRefundNo));
    expect(refundRow?.billDate).toBe(day);

    // Ours paid but absent from the bill: not declared while the window is open.
    expect(await found('missing_in_bill', { orderId: s.missing.orderId })).toHaveLength(0);

    // Every finding is a reconciliation.discrepancy event.
    const events = await h.db.select().from(outboxEvents).where(eq(outboxEvents.topic, 'reconciliation.discrepancy'));
    expect(events.length).toBe((await h.db.select().from(discrepancies)).length);
  });

  it('the next day closes the window: the missing row is queried (WeChat confirms it) and the refund meets its fund row', async () => {
    await advanceTo(addDays(day, 2), 10, 5);
    const before = await h.db.select().from(outboxEvents);
    const run = await reconcileDate(h.deps, day);
    expect(run.status).toBe('reconciled');
    const [d] = await found('missing_in_bill', { orderId: s.missing.orderId });
    expect(d).toMatchObject({ state: 'auto_resolved', proposedFix: 'none_wechat_confirms' });
    expect((await h.db.select().from(orders).where(eq(orders.id, s.missing.orderId)))[0]?.status).toBe('paid');
    // Only the new finding was written.
    expect((await h.db.select().from(outboxEvents)).length - before.length).toBe(1);

    const report = await reconciliationDay(h.db, day);
    expect(report?.status).toBe('reconciled');
    const truth = await sim.billTruth(day);
    // The trade bill's settlement agrees with the simulator's own truth except for the injected differences.
    expect(report?.settlement.refundsFen).toBe((truth as any).trade.refunds_fen);
    expect(report?.settlement.netFen).toBe(
      report!.settlement.settlementGrossFen - report!.settlement.refundsFen - report!.settlement.feesFen + report!.settlement.feeRefundsFen,
    );
    // The refund row is matched through the next day's fund flow.
    expect(report?.matchedPercent).toBeGreaterThan(0);
    expect(report?.discrepancies.map((x) => x.class).sort()).toEqual(
      ['amount_mismatch', 'external_refund', 'external_trade', 'fee_mismatch', 'local_unpaid', 'missing_in_bill', 'order_missing'].sort(),
    );
  });

  it('recomputing the day writes nothing new', async () => {
    const count = async () => ({
      discrepancies: (await h.db.select().from(discrepancies)).length,
      outbox: (await h.db.select().from(outboxEvents)).length,
      events: (await h.db.select().from(orderEvents)).length,
      alerts: (await h.db.select().from(alerts)).length,
      refunds: (await h.db.select().from(refunds)).length,
    });
    const before = await count();
    await reconcileDate(h.deps, day);
    await reconcileDate(h.deps, day);
    expect(await count()).toEqual(before);
  });

  it('a person settles an open one with a reason, audited and on the timeline', async () => {
    const [d] = await found('amount_mismatch', { orderId: s.amount.orderId });
    const actor = { id: 'u1', email: 'finance@example.com', role: 'finance', ip: null, userAgent: null, twoFactorFresh: true };
    await expect(decideDiscrepancy(h.db, actor, { id: d!.id, action: 'received', reason: ' ' })).rejects.toThrow(/reason/);
    const after = await decideDiscrepancy(h.db, actor, { id: d!.id, action: 'received', reason: 'bank confirms the amount' });
    expect(after.state).toBe('received');
    const events = await h.db
      .select()
      .from(orderEvents)
      .where(and(eq(orderEvents.orderId, s.amount.orderId), inArray(orderEvents.type, ['reconciliation.received'])));
    expect(events).toHaveLength(1);
    await expect(decideDiscrepancy(h.db, actor, { id: d!.id, action: 'ignore', reason: 'again' })).rejects.toThrow(/already/);
  });

  it('a quiet day is no_statement, not an error', async () => {
    const quiet = addDays(day, -20);
    const run = await reconcileDate(h.deps, quiet);
    expect(run.files.every((f) => f.status === 'no_statement')).toBe(true);
    expect(run.status).toBe('reconciled');
  });

  it('attempts are left alone by a recompute', async () => {
    const [a] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, s.unheard.outTradeNo));
    expect(a?.paidVia).toBe('bill');
  });
});
