// The whole Native pay path on real parts: order → prepay at the simulator → simulated scan and pay →
// signed, encrypted notification over HTTP → inbox + job in one transaction → pg-boss worker → paid.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderEvents, orders, paymentAttempts, wechatpayNotificationRejects, wechatpayNotifications } from '@/db/schema';
import { loadEnv } from '@/server/env';
import { getCheckoutView } from '@/server/payments/checkout';
import { createOrder, requestPrepay } from '@/server/payments/orders';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function newPaidOrder() {
  const db = h.db;
  const order = await createOrder(db, { items: [{ productId: 'ceramic-mug', quantity: 2 }], expireMinutes: 15, scale: 1 });
  const codeUrl = await requestPrepay(db, h.deps.gateway(), order.attemptId, loadEnv().notifyUrl);
  const paid = await h.simPay(codeUrl);
  const view = await eventually(async () => {
    const v = await getCheckoutView(db, order.token);
    return v?.status === 'paid' ? v : null;
  });
  return { order, codeUrl, paid, view };
}

describe('payment path', () => {
  it('creates an order with integer fen and a code_url, and the worker marks it paid after the notification', async () => {
    const { order, codeUrl, paid, view } = await newPaidOrder();
    expect(order.amountFen).toBe(13800);
    expect(codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect(paid.out_trade_no).toBe(order.outTradeNo);
    expect(view.transactionId).toBe(paid.transaction_id);
    expect(view.amountFen).toBe(13800);

    const db = h.db;
    const [attempt] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.id, order.attemptId));
    expect(attempt!.status).toBe('paid');
    expect(attempt!.timeExpire).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    const [o] = await db.select().from(orders).where(eq(orders.id, order.orderId));
    expect(o!.paidVia).toBe('notify');
    const inbox = await db.select().from(wechatpayNotifications).where(sql`${wechatpayNotifications.resource}->>'out_trade_no' = ${order.outTradeNo}`);
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.processedAt).not.toBeNull();
    expect(inbox[0]!.outcome).toBe('paid');
  });

  it('acknowledges a duplicate notification and changes nothing', async () => {
    const { order } = await newPaidOrder();
    const db = h.db;
    const original = h.captured.findLast((c) => c.status === 204 && c.body.length > 0)!;
    const notificationId = JSON.parse(original.body).id;

    // WeChat redelivers the very same bytes (signature and timestamp still fresh).
    const again = await h.postNotify(original.headers, original.body);
    expect(again.status).toBe(204);

    const [row] = await db.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, notificationId));
    expect(row!.deliveries).toBe(2);
    // The redelivery enqueued no second job (so nothing can run twice).
    const [jobs] =
      await db.$client`select count(*)::int as n from pgboss.job where name = 'payment.process-notification' and data->>'inboxId' = ${String(row!.id)}`;
    expect(jobs!.n).toBe(1);
    const paidEvents = await db
      .select()
      .from(orderEvents)
      .where(and(eq(orderEvents.orderId, order.orderId), eq(orderEvents.type, 'order.paid')));
    expect(paidEvents).toHaveLength(1);
  });

  it('rejects a forged notification with 401 FAIL, records it, and changes nothing', async () => {
    const db = h.db;
    const order = await createOrder(db, { items: [{ productId: 'longjing-tea', quantity: 1 }], expireMinutes: 15, scale: 1 });
    await requestPrepay(db, h.deps.gateway(), order.attemptId, loadEnv().notifyUrl);
    const template = h.captured.find((c) => c.status === 204)!;
    const forgedBody = template.body.replace(/"id":"[^"]+"/, '"id":"forged-notification-1"');
    const counted = async () =>
      (await db.select().from(wechatpayNotificationRejects).where(eq(wechatpayNotificationRejects.reason, 'bad_signature'))).reduce((n, r) => n + r.count, 0);
    const before = await counted();

    const res = await h.postNotify(template.headers, forgedBody);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'FAIL' });

    expect(await counted()).toBe(before + 1);
    const stored = await db.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, 'forged-notification-1'));
    expect(stored).toHaveLength(0);
    expect((await getCheckoutView(db, order.token))!.status).toBe('awaiting_payment');
  });

  it('rejects a correctly signed notification whose timestamp is stale', async () => {
    const template = h.captured.find((c) => c.status === 204)!;
    const res = await h.postNotify({ ...template.headers, 'wechatpay-timestamp': String(Math.floor(Date.now() / 1000) - 3600) }, template.body);
    expect(res.status).toBe(401);
    expect((await res.json()).message).toMatch(/stale_timestamp/);
  });
});
