// The console's orders list on real Postgres: each id kind in the one search box, filters, keyset pages,
// the capped count, and an order's detail with its timeline.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { closeDb, getDb } from '../helpers/db';
import { seedDemoCatalogue } from '@/db/seed';
import { orders, paymentAttempts } from '@/db/schema';
import { loadOrderDetail } from '@/server/console/order-detail';
import { countOrders, listOrders } from '@/server/console/orders';
import { createOrder } from '@/server/payments/orders';

const created: Array<{ id: string; token: string; outTradeNo: string }> = [];

beforeAll(async () => {
  const db = getDb();
  await seedDemoCatalogue(db);
  for (let i = 0; i < 5; i++) {
    const o = await createOrder(db, { items: [{ productId: 'ceramic-mug', quantity: 1 + (i % 2) }], clientIp: '203.0.113.5', expireMinutes: 15, scale: 1 });
    const [row] = await db.select({ id: orders.id, token: orders.token }).from(orders).where(eq(orders.token, o.token));
    created.push({ id: row!.id, token: row!.token, outTradeNo: o.outTradeNo });
  }
});
afterAll(() => closeDb());

test('each id kind finds its order', async () => {
  const db = getDb();
  const target = created[2]!;
  const txId = '4200009999202612010000000042';
  await db.update(paymentAttempts).set({ transactionId: txId }).where(eq(paymentAttempts.outTradeNo, target.outTradeNo));
  for (const [q, kind] of [
    [target.id, 'order_id'],
    [target.outTradeNo, 'out_trade_no'],
    [target.token, 'token'],
    [txId, 'transaction_id'],
  ] as const) {
    const page = await listOrders(db, { q }, { limit: 10 });
    expect(page.search?.kind, q).toBe(kind);
    expect(page.rows.map((r) => r.id)).toEqual([target.id]);
    expect(page.rows[0]).toMatchObject({ outTradeNo: target.outTradeNo, attempts: 1, flags: [] });
  }
  // The flag filters look at the order's own attempts.
  await db.update(paymentAttempts).set({ latePayment: 'after_close' }).where(eq(paymentAttempts.outTradeNo, target.outTradeNo));
  // The integration database is shared by every file: other orders may carry late payments too. The
  // newest first: the target is on the first page, and every row the filter returns is late.
  const late = await listOrders(db, { flags: ['late'] }, { limit: 10 });
  expect(late.rows.map((r) => r.id)).toContain(target.id);
  expect(late.rows.every((r) => r.flags.includes('late'))).toBe(true);
  expect(late.rows.find((r) => r.id === target.id)?.flags).toEqual(['late']);
  await db.update(paymentAttempts).set({ latePayment: null }).where(eq(paymentAttempts.outTradeNo, target.outTradeNo));
  const byAmount = await listOrders(db, { q: '¥138.00' }, { limit: 50 });
  expect(byAmount.search).toMatchObject({ kind: 'amount', amountFen: 13800 });
  expect(byAmount.rows.length).toBeGreaterThan(0);
  expect(byAmount.rows.every((r) => r.amountFen === 13800)).toBe(true);
});

test('keyset pages walk every order once, newest first; the count caps', async () => {
  const db = getDb();
  const seen: string[] = [];
  let cursor: { createdAt: Date; id: string } | undefined;
  for (;;) {
    const page = await listOrders(db, {}, { cursor, limit: 2 });
    seen.push(...page.rows.map((r) => r.id));
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  expect(new Set(seen).size).toBe(seen.length);
  for (const c of created) expect(seen).toContain(c.id);
  const total = (await countOrders(db, {}, null)).count;
  expect(total).toBe(seen.length);
  expect(await countOrders(db, {}, 2)).toEqual({ count: 2, capped: true });
  expect((await listOrders(db, { status: ['paid'] }, { limit: 10 })).rows.every((r) => r.status === 'paid')).toBe(true);
});

test('the detail has attempts with their QR state and a timeline in time order', async () => {
  const d = await loadOrderDetail(getDb(), created[0]!.id, { fullPayerId: false });
  expect(d?.attempts).toHaveLength(1);
  expect(d?.attempts[0]?.qr).toBe('not_issued');
  const times = d!.timeline.map((e) => e.at.getTime());
  expect([...times].sort((a, b) => a - b)).toEqual(times);
  expect(d!.timeline.some((e) => e.kind === 'event')).toBe(true);
  expect(JSON.stringify(d)).not.toContain(created[0]!.token);
});
