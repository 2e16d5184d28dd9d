// The notification fast path writes exactly what the general path writes, and declines anything unusual.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, getDb } from '@/db/client';
import { orderEvents, orders, outboxEvents, paymentAttempts, wechatpayNotifications } from '@/db/schema';
import { paymentContext } from '@/server/payments/context';
import { createOrder } from '@/server/payments/orders';
import { applyPaymentResult } from '@/server/payments/payment-result';
import { tryMarkPaidFast } from '@/server/payments/paid-fast-path';
import { Transaction } from '@/server/wechatpay/schemas';
import { startHarness, type Harness } from '../helpers/app-harness';
import { buildSignedNotification } from '../helpers/notifications';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false }); // no worker: the test drives processing itself
});
afterAll(async () => {
  await h?.close();
});

async function storedNotification(amountFen?: number) {
  const order = await createOrder(getDb(), { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000 });
  const n = buildSignedNotification(h.credentials, { out_trade_no: order.outTradeNo, amount: amountFen ?? order.amountFen });
  const [row] = await getDb()
    .insert(wechatpayNotifications)
    .values({ notificationId: JSON.parse(n.body).id, eventType: 'TRANSACTION.SUCCESS', resourceType: 'encrypt-resource', serial: 'test', resource: n.resource })
    .returning();
  return { order, inboxId: row.id, resource: n.resource };
}

async function fast(inboxId: number) {
  return clients()
    .sql.begin(async (sql) => (await tryMarkPaidFast(sql, inboxId, paymentContext('notify'))) ?? Promise.reject(new Error('declined')))
    .catch(() => null);
}

async function snapshot(orderId: string) {
  const db = getDb();
  const [o] = await db.select().from(orders).where(eq(orders.id, orderId));
  const [a] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, orderId));
  const events = await db.select().from(orderEvents).where(eq(orderEvents.orderId, orderId));
  const [outbox] = await db.select().from(outboxEvents).where(eq(outboxEvents.orderId, orderId));
  return {
    order: { status: o.status, paidVia: o.paidVia, transactionId: o.transactionId, paidAt: o.paidAt },
    attempt: { status: a.status, paidVia: a.paidVia, transactionId: a.transactionId, latePayment: a.latePayment, paidAt: a.paidAt },
    events: events.map((e) => ({ type: e.type, source: e.source, data: e.data })),
    outbox: { topic: outbox.topic, dedupeKey: outbox.dedupeKey.replace(orderId, 'ID'), payload: { ...(outbox.payload as object), orderId: 'ID' } },
  };
}

it('writes the same rows as the general path', async () => {
  const a = await storedNotification();
  expect(await fast(a.inboxId)).toBe('paid');
  const b = await storedNotification();
  await getDb().transaction(async (tx) => {
    const t = Transaction.parse(b.resource);
    expect((await applyPaymentResult(tx, t, paymentContext('notify'))).outcome).toBe('paid');
  });
  const viaFast = await snapshot(a.order.orderId);
  const viaGeneral = await snapshot(b.order.orderId);
  const strip = (s: typeof viaFast) => ({
    ...s,
    order: { ...s.order, transactionId: 'T', paidAt: 'P' },
    attempt: { ...s.attempt, transactionId: 'T', paidAt: 'P' },
    events: s.events.map((e) => ({ ...e, data: { ...(e.data as object), transactionId: 'T', outTradeNo: 'N' } })),
    outbox: { ...s.outbox, payload: { ...s.outbox.payload, transactionId: 'T', outTradeNo: 'N' } },
  });
  expect(strip(viaFast)).toEqual(strip(viaGeneral));
  const [inbox] = await getDb().select().from(wechatpayNotifications).where(eq(wechatpayNotifications.id, a.inboxId));
  expect(inbox.outcome).toBe('paid');
  expect(inbox.processedAt).not.toBeNull();
});

it('declines a second delivery and a wrong amount, changing nothing', async () => {
  const a = await storedNotification();
  expect(await fast(a.inboxId)).toBe('paid');
  expect(await fast(a.inboxId)).toBeNull(); // already processed

  const wrong = await storedNotification(1);
  expect(await fast(wrong.inboxId)).toBeNull();
  const [o] = await getDb().select().from(orders).where(eq(orders.id, wrong.order.orderId));
  expect(o.status).toBe('awaiting_payment');
  const [inbox] = await getDb().select().from(wechatpayNotifications).where(eq(wechatpayNotifications.id, wrong.inboxId));
  expect(inbox.processedAt).toBeNull();
});

it('pays a whole batch in one transaction, leaving the unusual ones to the general path', async () => {
  const { markCommonPaymentsPaid } = await import('@/server/jobs/handlers/process-notification');
  const good = await Promise.all([storedNotification(), storedNotification(), storedNotification()]);
  const wrong = await storedNotification(1);
  const paid = await markCommonPaymentsPaid([...good.map((g) => g.inboxId), wrong.inboxId], paymentContext('notify'));
  expect([...paid].sort()).toEqual(good.map((g) => g.inboxId).sort());
  for (const g of good) {
    const s = await snapshot(g.order.orderId);
    expect(s.order.status).toBe('paid');
    expect(s.events.filter((e) => e.type === 'order.paid')).toHaveLength(1);
    expect(s.outbox.topic).toBe('order.paid');
  }
  const [o] = await getDb().select().from(orders).where(eq(orders.id, wrong.order.orderId));
  expect(o.status).toBe('awaiting_payment');
  // A second pass over the same rows pays nothing again.
  expect((await markCommonPaymentsPaid(good.map((g) => g.inboxId), paymentContext('notify'))).size).toBe(0);
});
