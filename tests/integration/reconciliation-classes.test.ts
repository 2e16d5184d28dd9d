// The discrepancy classes reconciliation.test.ts leaves out, each from its cause to its resolution (issue 16
// §2, §6), against the real simulator, Postgres and worker:
// - refund state differs: the bill is a snapshot. A refund still PROCESSING at 09:00 that succeeded since is
//   confirmed by a query (nothing to change); a refund we still hold ABNORMAL that was paid out in the merchant
//   platform is queried and moved to succeeded through the refund domain.
// - duplicate: a second payment of a paid order (an old QR code paid after a new one) goes to the late-payment
//   policy (refund); a bill imported again finds nothing new.
// - local paid / absent from the bill: expected while the next day's bill is not in; then queried; WeChat has
//   no such payment → the order is frozen for review with a security alert.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, auditLog, discrepancies, orderEvents, orders, outboxEvents, paymentAttempts, refunds } from '@/db/schema';
import type { AuditActor } from '@/server/auth/audit';
import { renewCheckout } from '@/server/payments/checkout';
import { paymentContext } from '@/server/payments/context';
import { applyPaymentResult } from '@/server/payments/payment-result';
import { addDays } from '@/server/reconciliation/days';
import { decideDiscrepancy } from '@/server/reconciliation/discrepancies';
import { forcePostDiscrepancy } from '@/server/reconciliation/force-post';
import { importDay } from '@/server/reconciliation/import';
import { matchDay } from '@/server/reconciliation/match';
import { reconcileDate } from '@/server/reconciliation/reconcile';
import { executeRefund, requestRefund } from '@/server/refunds';
import { SimControl } from '@/simulator/testkit';
import { eventually, startHarness, trpcCall, type Harness } from '../helpers/app-harness';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SHANGHAI = 8 * HOUR;
const EXPIRE_MINUTES = 3 * 24 * 60;

let h: Harness;
let sim: SimControl;
let day: string;

beforeAll(async () => {
  h = await startHarness({
    ownDatabase: true,
    env: {
      ORDER_EXPIRE_MINUTES: String(EXPIRE_MINUTES),
      CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000',
      LATE_PAYMENT_POLICY: 'refund',
      // The worker's own active queries come hours late: what the bills find is the reconciliation's to repair,
      // however long the setup takes on a loaded machine.
      COMPENSATION_TIME_SCALE: '100',
    },
  });
  sim = new SimControl(h.simUrl);
  // The test day is the simulator's tomorrow, from 20:00 Beijing: hours of room before its midnight.
  const now = Date.parse((await sim.clock()).now);
  day = addDays(new Date(now + SHANGHAI).toISOString().slice(0, 10), 1);
  await advanceTo(day, 20, 0);
});

afterAll(async () => {
  await h?.close();
});

async function advanceTo(date: string, hour: number, minute = 0): Promise<void> {
  const target = Date.parse(`${date}T00:00:00Z`) - SHANGHAI + hour * HOUR + minute * MINUTE;
  const now = Date.parse((await sim.clock()).now);
  if (target > now) await sim.advanceClock(target - now);
}

interface Placed {
  orderId: string;
  outTradeNo: string;
  codeUrl: string;
  token: string;
}

async function place(): Promise<Placed> {
  const created = await trpcCall(h.appUrl, 'checkout.create', { items: [{ productId: 'longjing-tea', quantity: 1 }] }, 'mutation');
  const token = created.data.token as string;
  const view = await eventually(async () => {
    const v = (await trpcCall(h.appUrl, 'checkout.status', { token })).data;
    return v?.codeUrl ? v : null;
  });
  const [order] = await h.db.select().from(orders).where(eq(orders.token, token));
  return { orderId: order!.id, outTradeNo: view.outTradeNo, codeUrl: view.codeUrl, token };
}

async function paid(p: Placed): Promise<string> {
  const r = await sim.pay({ code_url: p.codeUrl });
  await eventually(async () => (await h.db.select().from(orders).where(eq(orders.id, p.orderId)))[0]?.status === 'paid');
  return r.transaction_id!;
}

const owner: AuditActor = { id: 'u-owner', email: 'owner@shop.test', role: 'owner', ip: null, userAgent: null, twoFactorFresh: true };
const refundDeps = () => ({ env: h.deps.env, clock: h.deps.clock });
const execDeps = () => ({ ...refundDeps(), gateway: h.deps.gateway(), notifyUrl: h.deps.env.notifyUrl });

async function refundOf(id: string) {
  return (await h.db.select().from(refunds).where(eq(refunds.id, id)))[0]!;
}

async function found(cls: string, orderId: string) {
  return h.db
    .select()
    .from(discrepancies)
    .where(and(eq(discrepancies.class, cls), eq(discrepancies.orderId, orderId)));
}

async function orderOf(id: string) {
  return (await h.db.select().from(orders).where(eq(orders.id, id)))[0]!;
}

const s = {} as {
  snapshot: Placed;
  snapshotRefundId: string;
  outside: Placed;
  outsideRefundId: string;
  double: Placed;
  firstOutTradeNo: string;
  firstTransactionId: string;
  forged: Placed;
  externalNo: string;
};

describe('refund state, duplicates and a payment WeChat never saw', () => {
  it('sets the day up', async () => {
    // A payment paid twice: the first QR code expires (for the app), a new one is paid, then the old one.
    s.double = await place();
    s.firstOutTradeNo = s.double.outTradeNo;
    const [first] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, s.firstOutTradeNo));
    const later = new Date(first!.expiresAt.getTime() + MINUTE);
    const renewed = await renewCheckout({ ...h.deps, clock: { now: () => later } }, s.double.token);
    expect(renewed.outTradeNo).not.toBe(s.firstOutTradeNo);
    await paid({ ...s.double, outTradeNo: renewed.outTradeNo!, codeUrl: renewed.codeUrl! });
    // The old code paid at WeChat with no notification: the bill is where we learn of it.
    s.firstTransactionId = (await sim.injectAnomaly({ kind: 'unheard_payment', out_trade_no: s.firstOutTradeNo })).transaction_id as string;

    // Paid here on a notification WeChat never sent (forged or replayed from elsewhere): WeChat's order is unpaid.
    s.forged = await place();
    const [forgedAttempt] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, s.forged.outTradeNo));
    const g = h.deps.gateway();
    const successTime = new Date(Date.parse((await sim.clock()).now) + SHANGHAI).toISOString().slice(0, 19);
    const forged = await h.db.transaction((tx) =>
      applyPaymentResult(
        tx,
        {
          appid: g.appid,
          mchid: g.mchid,
          out_trade_no: s.forged.outTradeNo,
          transaction_id: '4200009999202612319999999999',
          trade_state: 'SUCCESS',
          success_time: `${successTime}+08:00`,
          amount: { total: forgedAttempt!.amountFen, currency: 'CNY' },
        },
        paymentContext(h.deps, 'notify'),
      ),
    );
    expect(forged.outcome).toBe('paid');

    // A trade on our mchid that is not shaped like ours: reported as external, a person may force-post it.
    s.externalNo = (await sim.injectAnomaly({ kind: 'unknown_trade', amount_fen: 4321 })).out_trade_no as string;

    // A refund that will still be PROCESSING when the bill is generated (09:00 tomorrow) and succeed after.
    s.snapshot = await place();
    await paid(s.snapshot);
    const settleAfter = Date.parse(`${addDays(day, 1)}T09:30:00+08:00`) - Date.parse((await sim.clock()).now);
    await sim.setRefundPlan('default', { status: 'SUCCESS', afterMs: settleAfter });
    const rb = await requestRefund(h.db, refundDeps(), {
      orderId: s.snapshot.orderId,
      amountFen: 100,
      reason: '部分退款',
      actor: owner,
      initiatedBy: 'merchant',
    });
    s.snapshotRefundId = rb.refund.id;
    await eventually(async () => (await refundOf(s.snapshotRefundId)).status === 'processing', 20_000);

    // A refund that went ABNORMAL (we know), then was paid out in the merchant platform (we were not told).
    s.outside = await place();
    await paid(s.outside);
    await sim.setRefundPlan('default', { status: 'ABNORMAL', afterMs: 0 });
    const ra = await requestRefund(h.db, refundDeps(), { orderId: s.outside.orderId, amountFen: 200, reason: '退款', actor: owner, initiatedBy: 'merchant' });
    s.outsideRefundId = ra.refund.id;
    await eventually(async () => {
      const r = await refundOf(s.outsideRefundId);
      if (r.status === 'processing') await executeRefund(h.db, execDeps(), r.id).catch(() => {});
      return r.status === 'abnormal';
    }, 20_000);
    await sim.clearRefundPlans();
    await sim.setFaults({ notifyDropRate: 1 });
    const abnormal = await refundOf(s.outsideRefundId);
    await g.client.applyAbnormalRefund(
      { refund_id: abnormal.refundId!, out_refund_no: abnormal.outRefundNo, type: 'MERCHANT_BANK_CARD' },
      g.sensitiveEncryption(),
    );
    await eventually(async () => (await sim.refund(abnormal.outRefundNo)).status === 'SUCCESS');
    expect((await refundOf(s.outsideRefundId)).status).toBe('abnormal');
  });

  it('after 10:00 the next day: the window is open, the absent payment is not declared yet', async () => {
    await advanceTo(addDays(day, 1), 10, 5);
    // The snapshot refund succeeded at 09:30, after the bill was generated; we learn it by our own query.
    await eventually(async () => {
      await executeRefund(h.db, execDeps(), s.snapshotRefundId).catch(() => {});
      return (await refundOf(s.snapshotRefundId)).status === 'succeeded';
    }, 20_000);

    const run = await reconcileDate(h.deps, day);
    expect(run.status).toBe('provisional');
    expect(await found('missing_in_bill', s.forged.orderId)).toHaveLength(0);
    expect((await orderOf(s.forged.orderId)).status).toBe('paid');
  });

  it('refund state differs, bill behind us: the query confirms ours, nothing changes', async () => {
    const [d] = await found('refund_state', s.snapshot.orderId);
    expect(d).toMatchObject({ state: 'auto_resolved', proposedFix: 'query_refund' });
    expect(d?.bill).toMatchObject({ status: 'PROCESSING' });
    expect(d?.ours).toMatchObject({ status: 'succeeded' });
    expect(d?.resolution).toMatchObject({ action: 'queried_refund', wechatStatus: 'SUCCESS', applied: false });
    const events = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, s.snapshot.orderId));
    expect(events.filter((e) => e.type === 'refund.succeeded')).toHaveLength(1);
    expect((await orderOf(s.snapshot.orderId)).refundedFen).toBe(100);
  });

  it('refund state differs, we are behind: the query moves our refund through the refund domain', async () => {
    const [d] = await found('refund_state', s.outside.orderId);
    expect(d).toMatchObject({ state: 'auto_resolved' });
    expect(d?.bill).toMatchObject({ status: 'SUCCESS' });
    expect(d?.ours).toMatchObject({ status: 'abnormal' });
    expect(d?.resolution).toMatchObject({ wechatStatus: 'SUCCESS', applied: true });
    const r = await refundOf(s.outsideRefundId);
    expect(r.status).toBe('succeeded');
    expect(await orderOf(s.outside.orderId)).toMatchObject({ status: 'partially_refunded', refundedFen: 200 });
    const events = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, s.outside.orderId));
    expect(events.find((e) => e.type === 'refund.succeeded')?.source).toBe('bill');
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(eq(outboxEvents.dedupeKey, `refund.succeeded:${r.id}`)),
    ).toHaveLength(1);
  });

  it('a double payment goes to the late-payment policy: refunded', async () => {
    const [d] = await found('duplicate_payment', s.double.orderId);
    expect(d).toMatchObject({ state: 'auto_resolved', transactionId: s.firstTransactionId, outTradeNo: s.firstOutTradeNo });
    expect(d?.resolution).toMatchObject({ outcome: 'late_payment' });
    const [first] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, s.firstOutTradeNo));
    expect(first).toMatchObject({ status: 'paid', paidVia: 'bill', transactionId: s.firstTransactionId });
    expect(first?.latePayment).toBeTruthy();
    // The order stays paid by its second code; the first payment goes back.
    expect((await orderOf(s.double.orderId)).status).toBe('paid');
    const back = await h.db.select().from(refunds).where(eq(refunds.attemptId, first!.id));
    expect(back.map((r) => [r.kind, r.amountFen])).toEqual([['late_payment', first!.amountFen]]);
    const events = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, s.double.orderId));
    expect(events.find((e) => e.type === 'payment.late')?.source).toBe('bill');
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(eq(outboxEvents.dedupeKey, `payment.late_paid:${first!.id}`)),
    ).toHaveLength(1);
  });

  it('a bill imported again finds nothing new', async () => {
    // What reconciliation writes (the worker is meanwhile driving the late-payment refund: its events are not ours).
    const count = async () => ({
      discrepancies: (await h.db.select().from(discrepancies)).length,
      outbox: (await h.db.select().from(outboxEvents).where(eq(outboxEvents.topic, 'reconciliation.discrepancy'))).length,
      events: (await h.db.select().from(orderEvents).where(eq(orderEvents.source, 'bill'))).length,
      alerts: (await h.db.select().from(alerts)).length,
      refunds: (await h.db.select().from(refunds)).length,
    });
    const before = await count();
    // Fetched from WeChat again, not skipped: the same trade bill (same SHA-1) leaves its rows as they were.
    const files = await importDay(h.deps, day);
    expect(files.find((f) => f.kind === 'trade_ALL')).toMatchObject({ status: 'imported', changed: false });
    await matchDay(h.deps, day);
    expect(await count()).toEqual(before);
  });

  it('force-post books an external trade: the order rebuilt from the query, reason required, audited', async () => {
    const [d] = await h.db.select().from(discrepancies).where(eq(discrepancies.outTradeNo, s.externalNo));
    expect(d).toMatchObject({ class: 'external_trade', state: 'open', orderId: null });
    const finance: AuditActor = { id: 'u-fin', email: 'finance@shop.test', role: 'finance', ip: null, userAgent: null, twoFactorFresh: true };
    await expect(forcePostDiscrepancy(h.deps, finance, { id: d!.id, reason: ' ' })).rejects.toThrow(/reason/);
    // Not a bare change of state: the generic decision refuses force-post.
    await expect(decideDiscrepancy(h.db, finance, { id: d!.id, action: 'force_post', reason: 'ours after all' })).rejects.toThrow(/forcePost/);
    // Only a bill payment with no order can be force-posted.
    const [other] = await found('refund_state', s.snapshot.orderId);
    await expect(forcePostDiscrepancy(h.deps, finance, { id: other!.id, reason: 'ours after all' })).rejects.toThrow();

    const after = await forcePostDiscrepancy(h.deps, finance, { id: d!.id, reason: 'sold at the market stall' });
    expect(after).toMatchObject({ state: 'force_posted', reason: 'sold at the market stall', resolvedBy: 'finance@shop.test' });
    expect(after.orderId).toBeTruthy();
    expect(after.resolution).toMatchObject({ action: 'force_posted', rebuiltOrderId: after.orderId });
    expect(await orderOf(after.orderId!)).toMatchObject({ status: 'paid', amountFen: 4321, paidVia: 'bill' });
    const [attempt] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, s.externalNo));
    expect(attempt).toMatchObject({ orderId: after.orderId, status: 'paid', transactionId: d!.transactionId });
    const timeline = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, after.orderId!));
    expect(timeline.map((e) => [e.type, e.source])).toEqual(
      expect.arrayContaining([
        ['order.rebuilt', 'bill'],
        ['order.paid', 'bill'],
        ['reconciliation.force_posted', 'admin'],
      ]),
    );
    const [audit] = await h.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectType, 'discrepancy'), eq(auditLog.objectId, d!.id)));
    expect(audit).toMatchObject({ action: 'reconciliation.force_post', reason: 'sold at the market stall' });
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(eq(outboxEvents.dedupeKey, `reconciliation.discrepancy:${d!.id}:force_posted`)),
    ).toHaveLength(1);
    // Settled once.
    await expect(forcePostDiscrepancy(h.deps, finance, { id: d!.id, reason: 'again' })).rejects.toThrow(/already/);
  });

  it('the next day closes the window: absent and unknown to WeChat → frozen for review, security alert', async () => {
    await advanceTo(addDays(day, 2), 10, 5);
    const run = await reconcileDate(h.deps, day);
    expect(run.status).toBe('reconciled');
    const [d] = await found('missing_in_bill', s.forged.orderId);
    expect(d).toMatchObject({ state: 'open', proposedFix: 'review_frozen_order' });
    // WeChat's order was never paid: NOTPAY, or CLOSED once its QR code expired there.
    expect(d?.resolution).toMatchObject({ action: 'queried', wechatState: expect.stringMatching(/^(NOTPAY|CLOSED)$/) });
    expect(await orderOf(s.forged.orderId)).toMatchObject({ status: 'review', reviewReason: 'reconciliation' });
    const raised = await h.db.select().from(alerts).where(eq(alerts.orderId, s.forged.orderId));
    expect(raised.map((a) => a.kind).sort()).toEqual(['reconciliation_missing_in_bill', 'security']);
    const timeline = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, s.forged.orderId));
    expect(timeline.filter((e) => e.source === 'bill').map((e) => e.type)).toEqual(expect.arrayContaining(['order.review', 'reconciliation.discrepancy']));

    // Recomputed: found once, frozen once, alerted once.
    await reconcileDate(h.deps, day);
    expect(await found('missing_in_bill', s.forged.orderId)).toHaveLength(1);
    expect(await h.db.select().from(alerts).where(eq(alerts.orderId, s.forged.orderId))).toHaveLength(2);
  });
});
