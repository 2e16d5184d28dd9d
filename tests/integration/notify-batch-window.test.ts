// The notification worker's batch window (NOTIFY_BATCH_WINDOW_MS): after a short batch it waits out the
// window before fetching again, so notifications that land meanwhile are processed together, in one batch,
// instead of one fetch, transaction and completion each. The payments of a batch are committed (and the
// shopper told) before the wait.
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orders } from '@/db/schema';
import { causeId } from '@/server/queue/ids';
import { createOrder } from '@/server/payments/orders';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';
import { buildSignedNotification } from '../helpers/notifications';

const WINDOW_MS = 400; // wide, so the test does not race the worker on a slow machine

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { NOTIFY_BATCH_WINDOW_MS: String(WINDOW_MS) } });
});
afterAll(async () => {
  await h?.close();
  delete process.env.NOTIFY_BATCH_WINDOW_MS; // the next file's harness gets the default
});

async function orderWithNotification() {
  const order = await createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000 });
  const n = buildSignedNotification(h.credentials, { out_trade_no: order.outTradeNo, amount: order.amountFen });
  return { order, n, jobId: causeId('notification', JSON.parse(n.body).id as string) };
}

async function deliver(n: { headers: Record<string, string>; body: string }) {
  const res = await h.postNotify(n.headers, n.body);
  expect(res.status).toBe(204);
}

const paid = (orderIds: string[]) =>
  eventually(async () => {
    const rows = await h.db.select({ status: orders.status }).from(orders).where(inArray(orders.id, orderIds));
    return rows.length === orderIds.length && rows.every((r) => r.status === 'paid');
  }, 10_000);

async function fetchedAt(jobId: string): Promise<number> {
  const [row] = await h.db.$client.unsafe(`select started_on from pgboss.job where id = $1`, [jobId]);
  return new Date(row!.started_on).getTime();
}

async function completedAt(jobId: string): Promise<number> {
  const [row] = await h.db.$client.unsafe(`select completed_on from pgboss.job where id = $1`, [jobId]);
  return new Date(row!.completed_on).getTime();
}

it('processes the notifications that arrive during the window in one batch, after the first is already paid', async () => {
  const first = await orderWithNotification();
  const [second, third] = [await orderWithNotification(), await orderWithNotification()];

  await deliver(first.n);
  await paid([first.order.orderId]);

  // Two more while the worker waits out the first batch's window: one fetch takes both.
  await Promise.all([deliver(second.n), deliver(third.n)]);
  await paid([second.order.orderId, third.order.orderId]);

  const [a, b, c] = await Promise.all([fetchedAt(first.jobId), fetchedAt(second.jobId), fetchedAt(third.jobId)]);
  expect(b).toBe(c); // one fetch: pg-boss stamps a batch with one started_on
  // In order: the first batch, its hold (its job completes at the end of it), then the one fetch of the two.
  expect(a).toBeLessThan(b);
  expect(b).toBeGreaterThanOrEqual(await completedAt(first.jobId));
  const [row] = await h.db.select({ paidVia: orders.paidVia }).from(orders).where(eq(orders.id, third.order.orderId));
  expect(row!.paidVia).toBe('notify');
});
