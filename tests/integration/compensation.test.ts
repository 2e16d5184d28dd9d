// Compensation on real parts: active queries find payments whose notifications were lost, expiry closes
// attempts at WeChat and here, late payments are refunded, the shopper's "I've paid" asks WeChat, live
// status arrives over SSE, and the sweeper recovers work whose job never ran.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, orderEvents, orders, outboxEvents, paymentAttempts, refunds, wechatpayNotifications } from '@/db/schema';
import { sweep } from '@/server/payments/sweep';
import { getCheckoutView } from '@/server/payments/checkout';
import { eventually, sseEvents, startHarness, trpcCall, type Harness } from '../helpers/app-harness';

let h: Harness;

beforeAll(async () => {
  // Queries at 5 ms, 15 ms, 30 ms… after creation; QR codes valid for 3 s, then 3 s to ask for a new one.
  h = await startHarness({
    env: { COMPENSATION_TIME_SCALE: '0.001', ORDER_EXPIRE_MINUTES: '0.05', ORDER_RENEW_WINDOW_MINUTES: '0.05', CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000' },
  });
});
afterAll(async () => {
  h.notifyOutage = false;
  await h?.close();
});

async function buy(productId = 'red-envelope', headers: Record<string, string> = {}) {
  const res = await trpcCall<{ token: string }>(h.appUrl, 'checkout.create', { items: [{ productId, quantity: 1 }] }, 'mutation', headers);
  expect(res.status, JSON.stringify(res.error)).toBe(200);
  const view = (await trpcCall(h.appUrl, 'checkout.status', { token: res.data!.token })).data;
  return { token: res.data!.token, view };
}

async function orderOf(token: string) {
  const [o] = await h.db.select().from(orders).where(eq(orders.token, token));
  if (!o) throw new Error(`no order with token ${token}`);
  return o;
}

async function simOrder(outTradeNo: string) {
  return (await fetch(`${h.simUrl}/_sim/orders/${outTradeNo}`)).json();
}

async function waitForStatus(token: string, status: string, timeoutMs = 15_000) {
  return eventually(async () => {
    const v = await getCheckoutView(h.db, token);
    return v?.status === status ? v : null;
  }, timeoutMs);
}

describe('compensation', () => {
  it('finds a payment by active query when every notification is lost', async () => {
    h.notifyOutage = true;
    try {
      const { token, view } = await buy();
      await h.simPay(view.codeUrl);
      await waitForStatus(token, 'paid');
      const order = await orderOf(token);
      expect(order.paidVia).toBe('query');
    } finally {
      h.notifyOutage = false;
    }
  });

  it('closes an unpaid attempt at expiry, at WeChat and here, and writes payment.closed to the outbox', async () => {
    const { token, view } = await buy();
    await waitForStatus(token, 'closed');
    const sim = await simOrder(view.outTradeNo);
    expect(JSON.stringify(sim)).toMatch(/"trade_state":"CLOSED"/);
    const order = await orderOf(token);
    const outbox = await h.db
      .select()
      .from(outboxEvents)
      .where(and(eq(outboxEvents.orderId, order.id), eq(outboxEvents.topic, 'payment.closed')));
    expect(outbox).toHaveLength(1);
    const events = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, order.id));
    expect(events.map((e) => e.type)).toContain('order.closed');
  });

  it('refunds a payment that arrives after the attempt was closed (late payment, refund policy)', async () => {
    const { token, view } = await buy();
    await waitForStatus(token, 'closed');
    const pay = await fetch(`${h.simUrl}/_sim/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ out_trade_no: view.outTradeNo, allowClosed: true }),
    });
    expect(pay.status).toBe(200);
    const order = await orderOf(token);
    const refund = await eventually(async () => {
      const [r] = await h.db.select().from(refunds).where(eq(refunds.orderId, order.id));
      return r?.status === 'succeeded' ? r : null;
    }, 20_000);
    expect(refund.outRefundNo).toBe(`LR${view.outTradeNo}`);
    expect(refund.amountFen).toBe(view.amountFen);
    // Through the one refund domain, as a system-initiated refund; it gives back the late payment, not the order's.
    expect(refund.initiatedBy).toBe('system');
    expect(refund.kind).toBe('late_payment');
    expect((await orderOf(token)).refundedFen).toBe(0);
    const [attempt] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, view.outTradeNo));
    expect(attempt!.latePayment).toBe('after_close');
    expect((await orderOf(token)).status).toBe('closed'); // the money went back; the order stays closed
  });

  it('answers "I\'ve paid" by asking WeChat right away', async () => {
    h.notifyOutage = true;
    try {
      const { token, view } = await buy('longjing-tea');
      const before = await trpcCall(h.appUrl, 'checkout.check', { token }, 'mutation');
      expect(before.data.found).toBe('not_paid');
      await h.simPay(view.codeUrl);
      const after = await trpcCall(h.appUrl, 'checkout.check', { token }, 'mutation');
      expect(['paid']).toContain(after.data.found);
      expect(after.data.view.status).toBe('paid');
      expect(['shopper', 'query']).toContain((await orderOf(token)).paidVia);
    } finally {
      h.notifyOutage = false;
    }
  });

  it('rate-limits "I\'ve paid" per order', async () => {
    const { token } = await buy();
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push((await trpcCall(h.appUrl, 'checkout.check', { token }, 'mutation')).status);
    expect(answers.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(answers.slice(0, 6).every((s) => s === 200)).toBe(true);
  });

  it('issues a new QR code after expiry, only once the old attempt is closed, and the new one can be paid', async () => {
    const { token, view } = await buy();
    const early = await trpcCall(h.appUrl, 'checkout.renew', { token }, 'mutation');
    expect(early.status).toBe(409); // still valid
    h.advanceClock(3200); // past the 3 s expiry
    const renewed = await trpcCall(h.appUrl, 'checkout.renew', { token }, 'mutation');
    expect(renewed.status).toBe(200);
    expect(renewed.data.outTradeNo).not.toBe(view.outTradeNo);
    expect(renewed.data.codeUrl).toMatch(/^weixin:/);
    const [old] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, view.outTradeNo));
    expect(old!.status).toBe('closed');
    await h.simPay(renewed.data.codeUrl);
    await waitForStatus(token, 'paid');
  });

  it('a late payment of the old QR code, learned first, does not stop the new QR code from paying the order', async () => {
    const { token, view } = await buy();
    h.advanceClock(3200); // past the 3 s expiry
    const renewed = await trpcCall(h.appUrl, 'checkout.renew', { token }, 'mutation');
    expect(renewed.status).toBe(200);
    // WeChat takes the money for the closed old attempt, and that news arrives before the new payment.
    const late = await fetch(`${h.simUrl}/_sim/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ out_trade_no: view.outTradeNo, allowClosed: true }),
    });
    expect(late.status).toBe(200);
    await eventually(async () => {
      const [a] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, view.outTradeNo));
      return a!.latePayment === 'after_close';
    });
    await h.simPay(renewed.data.codeUrl);
    const paid = await waitForStatus(token, 'paid');
    expect(paid.outTradeNo).toBe(renewed.data.outTradeNo);
    const [r] = await h.db
      .select()
      .from(refunds)
      .where(eq(refunds.outRefundNo, `LR${view.outTradeNo}`));
    expect(r).toBeDefined(); // the old attempt's money goes back
  });

  it('streams status changes over SSE (tRPC subscription fed by LISTEN/NOTIFY)', async () => {
    const { token, view } = await buy();
    const controller = new AbortController();
    const seen: string[] = [];
    const stream = sseEvents(h.appUrl, 'checkout.onStatus', { token }, controller.signal);
    const first = await stream.next();
    seen.push(first.value.status);
    await h.simPay(view.codeUrl);
    for await (const v of stream) {
      seen.push(v.status);
      if (v.status === 'paid') break;
    }
    controller.abort();
    expect(seen[0]).toBe('awaiting_payment');
    expect(seen.at(-1)).toBe('paid');
  });

  it('rejects a notification whose amount does not match, freezing the order for review with an alert', async () => {
    // A correctly signed notification (made with the simulator's own keys) that says 1 fen was paid.
    const { token, view } = await buy('mooncake-box');
    const { buildSignedNotification } = await import('../helpers/notifications');
    const forged = buildSignedNotification(h.credentials, {
      out_trade_no: view.outTradeNo,
      amount: 1,
    });
    const res = await h.postNotify(forged.headers, forged.body);
    expect(res.status).toBe(204);
    await waitForStatus(token, 'review');
    const order = await orderOf(token);
    expect(order.reviewReason).toBe('mismatch');
    const [alert] = await h.db.select().from(alerts).where(eq(alerts.orderId, order.id));
    expect(alert!.kind).toBe('payment_mismatch');
  });

  it('the sweeper re-enqueues an inbox row whose job never ran', async () => {
    const db = h.db;
    const { buildSignedNotification } = await import('../helpers/notifications');
    const { token, view } = await buy();
    // Simulate a crash between storing and enqueueing: a stored row with no job.
    const n = buildSignedNotification(h.credentials, { out_trade_no: view.outTradeNo, amount: view.amountFen });
    const envelope = JSON.parse(n.body);
    await db.insert(wechatpayNotifications).values({
      notificationId: envelope.id,
      eventType: 'TRANSACTION.SUCCESS',
      resourceType: 'encrypt-resource',
      serial: 'test',
      resource: n.resource,
      receivedAt: new Date(Date.now() - 120_000),
    });
    const report = await sweep(db);
    expect(report.notifications).toBeGreaterThanOrEqual(1);
    await waitForStatus(token, 'paid');
    const [row] = await db.select().from(wechatpayNotifications).where(sql`${wechatpayNotifications.notificationId} = ${envelope.id}`);
    expect(row!.processedAt).not.toBeNull();
  });
});
