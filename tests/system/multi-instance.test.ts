// Two web processes and two workers on one Postgres: a shopper subscribed on web A sees, within a second,
// a payment whose notification arrived at web B and was processed by whichever worker took the job.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orderEvents, orders } from '@/db/schema';
import { sseEvents } from '../helpers/app-harness';
import path from 'node:path';
import { launch, ROOT, type Launched as Cluster } from '../../scripts/lib/cluster';
import { testPort } from '../helpers/test-ports';

let c: Cluster;

beforeAll(async () => {
  c = await launch({
    dataDir: path.join(ROOT, '.data', 'system-multi'),
    pgPort: testPort(54379),
    simPort: testPort(3241),
    webPorts: [testPort(3240), testPort(3242)],
    workers: 2,
    echo: process.env.CHAOS_VERBOSE === '1',
    env: { DB_POOL_MAX: '8', PGBOSS_POOL_MAX: '4', SIM_TIME_SCALE: '0.01', CHECKOUT_RATE_LIMIT_PER_MINUTE: '100000' },
  });
}, 180_000);

afterAll(async () => {
  await c?.stop();
});

async function trpc(base: string, path: string, input: unknown, kind: 'query' | 'mutation' = 'query'): Promise<any> {
  const url = `${base}/api/trpc/${path}`;
  const res =
    kind === 'query'
      ? await fetch(`${url}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`)
      : await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: input }) });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body.error)}`);
  return body.result.data.json;
}

it('a subscriber on web A sees a payment notified to web B within one second', async () => {
  const [webA, webB] = c.webUrls as [string, string]; // webPorts above: two
  // Ordered through B, so WeChat's notification goes to B's notify URL.
  const { token } = await trpc(webB, 'checkout.create', { items: [{ productId: 'ceramic-mug', quantity: 1 }] }, 'mutation');
  const view = await trpc(webB, 'checkout.status', { token });

  const controller = new AbortController();
  const stream = sseEvents(webA, 'checkout.onStatus', { token }, controller.signal);
  expect((await stream.next()).value.status).toBe('awaiting_payment');

  const paidAt = Date.now();
  const pay = await fetch(`${c.simUrl}/_sim/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code_url: view.codeUrl }),
  });
  expect(pay.status).toBe(200);
  let seenAfterMs = -1;
  for await (const v of stream) {
    if (v.status === 'paid') {
      seenAfterMs = Date.now() - paidAt;
      break;
    }
  }
  controller.abort();
  console.log(`[multi-instance] paid seen on web A ${seenAfterMs} ms after the payment (notified to web B)`);
  expect(seenAfterMs).toBeGreaterThanOrEqual(0);
  expect(seenAfterMs).toBeLessThan(1000);
});

it('two workers never do the same work twice', async () => {
  const tokens: string[] = [];
  for (let i = 0; i < 20; i++) {
    const base = c.webUrls[i % 2]!;
    const { token } = await trpc(base, 'checkout.create', { items: [{ productId: 'red-envelope', quantity: 1 }] }, 'mutation');
    const view = await trpc(base, 'checkout.status', { token });
    await fetch(`${c.simUrl}/_sim/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code_url: view.codeUrl }) });
    tokens.push(token);
  }
  const deadline = Date.now() + 20_000;
  let rows: (typeof orders.$inferSelect)[] = [];
  while (Date.now() < deadline) {
    rows = await c.db.select().from(orders).where(inArray(orders.token, tokens));
    if (rows.every((r) => r.status === 'paid')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(rows.map((r) => r.status)).toEqual(tokens.map(() => 'paid'));
  const counts = await c.db
    .select({ n: sql<number>`count(*)::int` })
    .from(orderEvents)
    .where(
      and(
        inArray(
          orderEvents.orderId,
          rows.map((r) => r.id),
        ),
        eq(orderEvents.type, 'order.paid'),
      ),
    )
    .groupBy(orderEvents.orderId);
  expect(counts).toHaveLength(20);
  expect(counts.every((x) => x.n === 1)).toBe(true);
});
