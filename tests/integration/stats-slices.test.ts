// The slices under the rollups: a batch of events recomputes only the slices its orders touch, a replay
// changes no figure, an hour is the sum of its slices, and the nightly recompute reads only the slices
// that have data and deletes those whose data has gone. Which slices were rewritten is told by their
// computed_at (the writing transaction's time), never by elapsed time.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orders, statsDaily, statsHourly, statsSlices, wechatpayNotificationRejects } from '@/db/schema';
import { paymentContext } from '@/server/payments/context';
import { createOrder } from '@/server/payments/orders';
import { applyPaymentResult, type PaymentSource } from '@/server/payments/payment-result';
import { consumeEvents } from '@/server/stats/consume';
import { recomputeStats, slicesWithData } from '@/server/stats/rollup';
import { dayStart } from '@/server/stats/time';
import { successfulTransaction } from '@/simulator/testkit';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, ownDatabase: true });
});
afterAll(async () => {
  await h?.close();
});

// Noon in Beijing on 10 October 2026 (04:00 UTC): the minutes below stay inside that Beijing day.
const DAY = '2026-10-10';
const NOON = Date.parse('2026-10-10T04:00:00Z');
const at = (minutes: number) => new Date(NOON + minutes * 60_000);
const iso = (minutes: number) => at(minutes).toISOString();
let seq = 0;

async function order(createdMin: number) {
  return createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000, now: at(createdMin) });
}
async function pay(o: { outTradeNo: string; amountFen: number }, source: PaymentSource, paidMin: number) {
  const t = successfulTransaction(
    h.credentials,
    { out_trade_no: o.outTradeNo, amount: o.amountFen, transaction_id: `4300${String(++seq).padStart(24, '0')}` },
    at(paidMin).getTime(),
  );
  await h.db.transaction((tx) => applyPaymentResult(tx, t as never, { ...paymentContext(h.deps, source), now: () => at(paidMin) }));
}
async function eventsOf(orderId: string): Promise<number[]> {
  const rows = await h.db.execute(sql`select id from outbox_events where order_id = ${orderId} order by id`);
  return (rows as unknown as { id: string }[]).map((r) => Number(r.id));
}
/** Slice start (ISO) → when it was last written. */
async function writtenAt(): Promise<Map<string, string>> {
  const rows = await h.db.execute(sql`select bucket_start, computed_at::text as at from stats_slices order by 1`);
  return new Map((rows as unknown as { bucket_start: string; at: string }[]).map((r) => [new Date(r.bucket_start).toISOString(), r.at]));
}
const rewritten = (before: Map<string, string>, after: Map<string, string>) => [...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
const figures = async () => ({
  slices: (await h.db.select().from(statsSlices).orderBy(statsSlices.bucketStart)).map(({ computedAt: _, ...r }) => r),
  hourly: (await h.db.select().from(statsHourly).orderBy(statsHourly.bucketStart)).map(({ computedAt: _, ...r }) => r),
  daily: (await h.db.select().from(statsDaily).orderBy(statsDaily.day)).map(({ computedAt: _, ...r }) => r),
});
const dayRange = [dayStart(DAY), new Date(dayStart(DAY).getTime() + 24 * 3_600_000)] as const;

it('recomputes only the slice a batch touches, and a replay changes nothing', async () => {
  const a = await order(1);
  await pay(a, 'query', 1);
  const b = await order(2);
  await pay(b, 'shopper', 3);
  await order(7); // created only: no event, found by the nightly recompute
  await h.db.insert(wechatpayNotificationRejects).values({ minute: at(8), reason: 'bad_signature', count: 2 });
  await recomputeStats(h.db, DAY, DAY);
  const before = await writtenAt();
  expect([...before.keys()]).toEqual([iso(1), iso(2), iso(3), iso(7), iso(8)]);

  // One order created and paid in minute 5: its events touch that slice only.
  const d = await order(5);
  await pay(d, 'query', 5);
  const events = await eventsOf(d.orderId);
  expect(events.length).toBeGreaterThan(0);
  expect(await consumeEvents(h.db, events)).toBe(1);
  const after = await writtenAt();
  expect(rewritten(before, after)).toEqual([iso(5)]);
  const [slice5] = await h.db
    .select()
    .from(statsSlices)
    .where(eq(statsSlices.bucketStart, at(5)));
  expect(slice5).toMatchObject({ paidCount: 1, grossFen: d.amountFen, viaQuery: 1, createdCount: 1, createdPaidCount: 1 });
  const [day] = await h.db.select().from(statsDaily).where(eq(statsDaily.day, DAY));
  expect(day).toMatchObject({ paidCount: 3, createdCount: 4, viaQuery: 2, viaShopper: 1, rejects: { bad_signature: 2 } });

  // The same events again: the slice is rewritten with the same figures, nothing else moves.
  const same = await figures();
  expect(await consumeEvents(h.db, events)).toBe(1);
  const replayed = await writtenAt();
  expect(rewritten(after, replayed)).toEqual([iso(5)]);
  expect(await figures()).toEqual(same);
});

it('keeps each hour equal to the sum of its slices', async () => {
  const b = await order(110); // the next hour, paid in the one after
  await pay(b, 'notify', 122);
  await recomputeStats(h.db, DAY, DAY);
  const slices = await h.db.select().from(statsSlices).orderBy(statsSlices.bucketStart);
  const hours = await h.db.select().from(statsHourly).orderBy(statsHourly.bucketStart);
  expect(hours.map((r) => r.bucketStart.toISOString())).toEqual([iso(0), iso(60), iso(120)]);
  for (const hour of hours) {
    const start = hour.bucketStart.getTime();
    const parts = slices.filter((s) => s.bucketStart.getTime() >= start && s.bucketStart.getTime() < start + 3_600_000);
    expect(parts.length).toBeGreaterThan(0);
    // Summed here field by field, independently of the fold's own sumFigures.
    for (const [k, v] of Object.entries(hour)) {
      const values = parts.map((p) => p[k as keyof typeof p]);
      if (typeof v === 'number')
        expect(
          values.reduce((a: number, x) => a + Number(x), 0),
          k,
        ).toBe(v);
      else if (Array.isArray(v)) expect(v, k).toEqual(v.map((_, i) => values.reduce((a: number, x) => a + ((x as number[])[i] ?? 0), 0)));
    }
    const rejects: Record<string, number> = {};
    for (const p of parts) for (const [r, c] of Object.entries(p.rejects)) rejects[r] = (rejects[r] ?? 0) + c;
    expect(hour.rejects).toEqual(rejects);
  }
  expect(hours.reduce((a, r) => a + r.paidCount, 0)).toBe(4);
});

it('finds the slices to recompute in one query, and deletes a slice whose data has gone', async () => {
  const e = await order(200); // alone in its hour (07:20 UTC)
  await recomputeStats(h.db, DAY, DAY);
  expect((await slicesWithData(h.db, ...dayRange)).map((d) => d.toISOString())).toEqual([
    iso(1),
    iso(2),
    iso(3),
    iso(5),
    iso(7),
    iso(8),
    iso(110),
    iso(122),
    iso(200),
  ]);
  expect(
    await h.db
      .select()
      .from(statsHourly)
      .where(eq(statsHourly.bucketStart, at(180))),
  ).toHaveLength(1);

  // Its creation time moves to another hour of the day: minute 200's slice and hour are left empty.
  await h.db
    .update(orders)
    .set({ createdAt: at(-100) })
    .where(eq(orders.id, e.orderId));
  const before = await writtenAt();
  await recomputeStats(h.db, DAY, DAY);
  const after = await writtenAt();
  expect(after.has(iso(200))).toBe(false);
  expect(after.has(iso(-100))).toBe(true);
  expect(
    await h.db
      .select()
      .from(statsHourly)
      .where(eq(statsHourly.bucketStart, at(180))),
  ).toHaveLength(0);
  expect(
    await h.db
      .select()
      .from(statsHourly)
      .where(eq(statsHourly.bucketStart, at(-120))),
  ).toHaveLength(1);
  const [day] = await h.db.select().from(statsDaily).where(eq(statsDaily.day, DAY));
  expect(day!.createdCount).toBe(6);
  // Every slice with data was recomputed (rewritten), none other exists.
  expect(rewritten(before, after).sort()).toEqual([...after.keys()].sort());
  expect((await slicesWithData(h.db, ...dayRange)).map((d) => d.toISOString())).toEqual([...after.keys()]);
});

it('npm run admin -- stats:recompute rebuilds every figure from the raw tables (the step after upgrading to slices)', async () => {
  const o = await order(200);
  await pay(o, 'notify', 201);
  await recomputeStats(h.db, DAY, DAY);
  const before = await figures();
  expect(before.daily.length).toBeGreaterThan(0);
  // As a database from before the slices: hours and days, no slice rows.
  await h.db.delete(statsSlices);
  await h.db.delete(statsHourly);
  await h.db.delete(statsDaily);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'stats:recompute', '--from', DAY, '--to', DAY], {
    env: { ...process.env, DATABASE_URL: h.deps.env.DATABASE_URL },
  });
  expect(stdout).toContain(`Recomputed the statistics of ${DAY} to ${DAY}`);
  expect(await figures()).toEqual(before);
  await expect(
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'stats:recompute', '--from', '10/10/2026'], {
      env: { ...process.env, DATABASE_URL: h.deps.env.DATABASE_URL },
    }),
  ).rejects.toMatchObject({ stderr: expect.stringContaining('stats:recompute') });
});
