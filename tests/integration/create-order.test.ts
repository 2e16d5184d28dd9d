// What creating an order writes, row by row: the order, its lines in cart order, the first attempt with
// WeChat's exact time_expire, the "order.created" event, and the attempt's first active query and expiry
// jobs — all in one transaction; then the QR code and its "attempt.code_issued" event.
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orderEvents, orderItems, orders, paymentAttempts } from '@/db/schema';
import { QUEUE } from '@/server/queue/catalogue';
import { causeId } from '@/server/queue/ids';
import { loadEnv } from '@/server/env';
import { createOrder, requestPrepay } from '@/server/payments/orders';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false }); // the jobs stay where createOrder put them
});
afterAll(async () => {
  await h?.close();
});

it('writes order, lines, attempt, event and both compensation jobs together', async () => {
  const db = h.db;
  const now = new Date('2026-11-26T09:30:15.750Z');
  const created = await createOrder(db, {
    items: [
      { productId: 'ceramic-mug', quantity: 2 },
      { productId: 'red-envelope', quantity: 1 },
      { productId: 'ceramic-mug', quantity: 1 }, // merged into the first line
    ],
    clientIp: '203.0.113.7',
    expireMinutes: 15,
    scale: 2,
    now,
  });

  const [order] = await db.select().from(orders).where(eq(orders.id, created.orderId));
  expect(order).toMatchObject({
    token: created.token,
    status: 'awaiting_payment',
    amountFen: created.amountFen,
    currency: 'CNY',
    clientIp: '203.0.113.7',
    paidAt: null,
  });
  expect(order!.createdAt.toISOString()).toBe(now.toISOString());
  expect(order!.description).toBe('青瓷马克杯 等4件');

  const lines = await db.select().from(orderItems).where(eq(orderItems.orderId, created.orderId)).orderBy(asc(orderItems.id));
  expect(lines.map((l) => [l.productId, l.quantity])).toEqual([
    ['ceramic-mug', 3],
    ['red-envelope', 1],
  ]);
  expect(lines.reduce((sum, l) => sum + l.unitPriceFen * l.quantity, 0)).toBe(created.amountFen);

  const [attempt] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, created.orderId));
  expect(attempt).toMatchObject({ id: created.attemptId, outTradeNo: created.outTradeNo, status: 'created', amountFen: created.amountFen, codeUrl: null });
  expect(attempt!.createdAt.toISOString()).toBe('2026-11-26T09:30:15.000Z'); // whole seconds
  expect(attempt!.expiresAt.toISOString()).toBe('2026-11-26T09:45:15.000Z');
  expect(attempt!.timeExpire).toBe('2026-11-26T17:45:15+08:00');
  expect(created.outTradeNo).toMatch(/^SP20261126173015[0-9A-Z]{12}$/);

  const events = await db.select().from(orderEvents).where(eq(orderEvents.orderId, created.orderId));
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ attemptId: created.attemptId, type: 'order.created', source: 'shopper' });
  expect(events[0]!.data).toEqual({
    amountFen: created.amountFen,
    outTradeNo: created.outTradeNo,
    items: [
      { productId: 'ceramic-mug', quantity: 3 },
      { productId: 'red-envelope', quantity: 1 },
    ],
  });

  const jobs = await h.db.$client<{ name: string; data: unknown; start_after: string }[]>`
    select name, data, start_after from pgboss.job where id in (${causeId('query', created.attemptId, 0)}, ${causeId('expire', created.attemptId)}) order by name`;
  expect(jobs.map((j) => j.name)).toEqual([QUEUE.expireAttempt, QUEUE.queryAttempt].sort());
  const byName = new Map(jobs.map((j) => [j.name, j]));
  expect(new Date(byName.get(QUEUE.expireAttempt)!.start_after).toISOString()).toBe('2026-11-26T09:45:15.000Z');
  expect(byName.get(QUEUE.queryAttempt)!.data).toEqual({ version: 1, attemptId: created.attemptId, step: 0 });
  expect(new Date(byName.get(QUEUE.queryAttempt)!.start_after).toISOString()).toBe('2026-11-26T09:30:25.000Z'); // +5 s × scale 2
});

it('rolls the whole order back when one part of it fails', async () => {
  const db = h.db;
  // A constraint that only this order's attempt row breaks (test files run one at a time, see vitest.config).
  await h.db.$client`alter table payment_attempts add constraint test_no_large_orders check (amount_fen < 100000) not valid`;
  let err: unknown;
  try {
    err = await createOrder(db, { items: [{ productId: 'ceramic-mug', quantity: 99 }], clientIp: '198.51.100.99', expireMinutes: 15, scale: 1 }).then(
      () => null,
      (e: unknown) => e,
    );
  } finally {
    await h.db.$client`alter table payment_attempts drop constraint test_no_large_orders`;
  }
  const cause = (err as { cause?: Error } | null)?.cause;
  expect(cause?.message).toMatch(/test_no_large_orders/);
  // Neither the order nor its lines or event: the statement and the transaction went back as one.
  expect(await db.select().from(orders).where(eq(orders.clientIp, '198.51.100.99'))).toEqual([]);
});

it('stores the QR code with its event once WeChat answers', async () => {
  const db = h.db;
  const created = await createOrder(db, { items: [{ productId: 'red-envelope', quantity: 1 }], expireMinutes: 15, scale: 1 });
  const codeUrl = await requestPrepay(db, h.deps.gateway(), created.attemptId, loadEnv().notifyUrl);
  const [attempt] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.id, created.attemptId));
  expect(attempt).toMatchObject({ status: 'awaiting_payment', codeUrl, prepayError: null });
  const events = await db.select().from(orderEvents).where(eq(orderEvents.orderId, created.orderId));
  expect(events.map((e) => e.type).sort()).toEqual(['attempt.code_issued', 'order.created']);
  expect(events.find((e) => e.type === 'attempt.code_issued')).toMatchObject({ attemptId: created.attemptId, source: 'system' });
});
