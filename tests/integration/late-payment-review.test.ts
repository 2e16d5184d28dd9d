// Merchant policy LATE_PAYMENT_POLICY=review: money for an attempt we closed is not refunded
// automatically; the order is held in review with an alert for a human.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alerts, orderEvents, orders, refunds } from '@/db/schema';
import { getCheckoutView } from '@/server/payments/checkout';
import { eventually, startHarness, trpcCall, type Harness } from '../helpers/app-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    env: {
      LATE_PAYMENT_POLICY: 'review',
      COMPENSATION_TIME_SCALE: '0.001',
      ORDER_EXPIRE_MINUTES: '0.05',
      ORDER_RENEW_WINDOW_MINUTES: '0.02',
      CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000',
    },
  });
});
afterAll(async () => {
  await h?.close();
});

it('holds a late payment for review instead of refunding it', async () => {
  const created = await trpcCall(h.appUrl, 'checkout.create', { items: [{ productId: 'longjing-tea', quantity: 1 }] }, 'mutation');
  const token = created.data.token;
  const view = (await trpcCall(h.appUrl, 'checkout.status', { token })).data;
  await eventually(async () => (await getCheckoutView(h.db, token))?.status === 'closed', 15_000);

  const pay = await fetch(`${h.simUrl}/_sim/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ out_trade_no: view.outTradeNo, allowClosed: true }),
  });
  expect(pay.status).toBe(200);

  const reviewed = await eventually(async () => {
    const v = await getCheckoutView(h.db, token);
    return v?.status === 'review' ? v : null;
  }, 15_000);
  expect(reviewed.reviewReason).toBe('late_payment');
  const [order] = await h.db.select().from(orders).where(eq(orders.token, token));
  expect(order).toBeDefined();
  const [alert] = await h.db.select().from(alerts).where(eq(alerts.orderId, order!.id));
  expect(alert!.kind).toBe('late_payment');
  expect(await h.db.select().from(refunds).where(eq(refunds.orderId, order!.id))).toHaveLength(0);
  const types = (await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, order!.id))).map((e) => e.type);
  expect(types).toEqual(expect.arrayContaining(['order.created', 'attempt.closed', 'order.closed', 'payment.late', 'order.review']));
});
