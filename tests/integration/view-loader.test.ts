// Live status reads the views woken by one commit in one statement: the batch must give each stream
// exactly what the single-order read gives, and say "unknown" for a token that is not there.
// Performance contract: the statement counts below pin the coalescing that live status relies on under
// load (docs/benchmarks.md, "Notify → paid seen by a subscriber"); they test a design decision, not a result.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDb, type Db } from '@/db/client';
import { getCheckoutView, getCheckoutViews } from '@/server/payments/checkout';
import { createOrder } from '@/server/payments/orders';
import { loadCheckoutView } from '@/server/payments/view-loader';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

async function tokens(n: number) {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const order = await createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 + (i % 3) }], expireMinutes: 15, scale: 1000 });
    out.push(order.token);
  }
  return out;
}

/** The real database, counting the statements that go through `execute`. */
function counted(db: Db) {
  const stats = { statements: 0 };
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'execute' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        stats.statements++;
        return value.apply(target, args);
      };
    },
  });
  return { db: proxy, stats };
}

it('reads several orders in one statement, each exactly as the single read does', async () => {
  const ts = await tokens(5);
  const now = new Date();
  const many = await getCheckoutViews(h.db, [...ts, 'no-such-token'], now);
  expect(many.size).toBe(5);
  for (const t of ts) expect(many.get(t)).toEqual(await getCheckoutView(h.db, t, now));
  expect(many.has('no-such-token')).toBe(false);
});

it('performance contract: coalesces the loads of one tick into one statement and answers every caller, twice for the same token', async () => {
  const ts = await tokens(4);
  const { db, stats } = counted(h.db);
  const results = await Promise.all([...ts, ts[0]!, 'no-such-token'].map((t) => loadCheckoutView(db, t)));
  expect(stats.statements).toBe(1);
  for (const [i, t] of ts.entries()) expect(results[i]).toEqual(await getCheckoutView(h.db, t));
  expect(results[4]).toEqual(results[0]);
  expect(results[5]).toBeNull();

  // Loads in later ticks are later statements.
  await loadCheckoutView(db, ts[1]!);
  await loadCheckoutView(db, ts[2]!);
  expect(stats.statements).toBe(3);
});

it('rejects every caller of a batch whose statement failed', async () => {
  const ts = await tokens(2);
  // A real client whose connections are closed: every statement fails.
  const closed = createDb(process.env.DATABASE_URL!, { max: 1 });
  await closed.sql.end();
  const results = await Promise.allSettled(ts.map((t) => loadCheckoutView(closed.db, t)));
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
});
