// GET /api/v1/stats/daily with real data: orders paid through the simulator and a refund, rolled up by the
// real worker (outbox relay → stats consumer), read back per Beijing day. A database of its own: the
// figures are whole days.
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orders } from '@/db/schema';
import { addDays, beijingDateOf } from '@/server/reconciliation/days';
import { api, makeKey } from '../helpers/api';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness({ ownDatabase: true, env: { API_RATE_LIMIT_PER_MINUTE: '100000' } });
  key = (await makeKey(h.db, ['orders:read', 'orders:write', 'refunds:write'])).secret;
});
afterAll(async () => {
  await h?.close();
});

const uniq = () => `S${Date.now()}${Math.floor(Math.random() * 1e6)}`;
async function paidOrder(amountFen: number): Promise<{ id: string; paidAt: string }> {
  const res = await api('POST', '/orders', { key, body: { merchantOrderNo: uniq(), amountFen, description: 'stats' } });
  expect(res.status).toBe(201);
  await h.simPay(res.body.codeUrl);
  return eventually(async () => {
    const o = (await api('GET', `/orders/${res.body.id}`, { key })).body;
    return o.status === 'paid' ? o : null;
  }, 20_000);
}

it('answers per Beijing day what was paid, refunded, charged and how each payment was learned', async () => {
  // Amounts whose 0.6 % estimate rounds both ways: 7.404 → 7, 5.994 → 6, 15.3 → 15.
  const amounts = [1234, 999, 2550];
  const paid = [];
  for (const a of amounts) paid.push(await paidOrder(a));
  const refund = await api('POST', `/orders/${paid[0]!.id}/refunds`, { key, body: { amountFen: 300 } });
  expect(refund.status, JSON.stringify(refund.body)).toBe(201);
  await eventually(async () => (await api('GET', `/refunds/${refund.body.id}`, { key })).body.status === 'succeeded', 30_000);

  // Payments bucket by WeChat's success time; in the simulator that is now, so one Beijing day (or, across a
  // midnight, two: the range covers both and the sums hold).
  const days = [...new Set(paid.map((p) => beijingDateOf(new Date(p.paidAt))))].sort();
  const from = addDays(days[0]!, -1);
  const to = addDays(days.at(-1)!, 1);
  const expectedGross = amounts.reduce((s, a) => s + a, 0);
  const expectedFees = amounts.reduce((s, a) => s + Math.round((a * 6) / 1000), 0);
  expect(expectedFees).toBe(7 + 6 + 15);

  const answer = await eventually(async () => {
    const res = await api('GET', `/stats/daily?from=${from}&to=${to}`, { key });
    expect(res.status).toBe(200);
    const list = res.body as { paidCount: number; refundCount: number }[];
    const paidCount = list.reduce((s, d) => s + d.paidCount, 0);
    const refundCount = list.reduce((s, d) => s + d.refundCount, 0);
    return paidCount === amounts.length && refundCount === 1 ? res.body : null;
  }, 30_000);

  // One entry per day of the range, oldest first, the empty edges as zeros.
  const expectedDates = [];
  for (let d = from; d <= to; d = addDays(d, 1)) expectedDates.push(d);
  expect(answer.map((d: { date: string }) => d.date)).toEqual(expectedDates);
  expect(answer[0]).toEqual({
    date: from,
    paidCount: 0,
    grossFen: 0,
    refundCount: 0,
    refundFen: 0,
    netFen: 0,
    feesFen: 0,
    learnedVia: { notify: 0, query: 0, shopper: 0, bill: 0 },
  });
  const sum = (f: (d: any) => number) => answer.reduce((s: number, d: any) => s + f(d), 0);
  expect(sum((d) => d.grossFen)).toBe(expectedGross);
  expect(sum((d) => d.refundFen)).toBe(300);
  expect(sum((d) => d.feesFen)).toBe(expectedFees);
  expect(sum((d) => d.netFen)).toBe(expectedGross - 300 - expectedFees);
  for (const d of answer) expect(d.netFen).toBe(d.grossFen - d.refundFen - d.feesFen);

  // How each was learned agrees with what the orders record (the notification usually, a query if it won).
  const rows = await h.db
    .select({ via: orders.paidVia })
    .from(orders)
    .where(
      inArray(
        orders.id,
        paid.map((p) => p.id),
      ),
    );
  const via = { notify: 0, query: 0, shopper: 0, bill: 0 } as Record<string, number>;
  for (const r of rows) via[r.via!] = (via[r.via!] ?? 0) + 1;
  expect({
    notify: sum((d) => d.learnedVia.notify),
    query: sum((d) => d.learnedVia.query),
    shopper: sum((d) => d.learnedVia.shopper),
    bill: sum((d) => d.learnedVia.bill),
  }).toEqual(via);
  expect(via.notify! + via.query!).toBe(amounts.length);
});

it('refuses a date that is not one, a reversed range and a range over 366 days, saying which', async () => {
  const bad = await api('GET', '/stats/daily?from=2026-02-29&to=2026-03-01', { key });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('invalid_request');
  expect(bad.body.error.message).toMatch(/query\.from: must be a calendar date/);
  const reversed = await api('GET', '/stats/daily?from=2026-03-02&to=2026-03-01', { key });
  expect(reversed.status).toBe(400);
  expect(reversed.body.error.message).toMatch(/from \(2026-03-02\) must not be after to \(2026-03-01\)/);
  const year = await api('GET', '/stats/daily?from=2024-01-01&to=2024-12-31', { key });
  expect(year.status).toBe(200);
  expect(year.body).toHaveLength(366);
  const tooLong = await api('GET', '/stats/daily?from=2024-01-01&to=2025-01-01', { key });
  expect(tooLong.status).toBe(400);
  expect(tooLong.body.error.message).toMatch(/span 367 days: at most 366/);
  const centuries = await api('GET', '/stats/daily?from=0001-01-01&to=9999-12-31', { key });
  expect(centuries.status).toBe(400);
  const missing = await api('GET', '/stats/daily?from=2026-03-01', { key });
  expect(missing.status).toBe(400);
  expect(missing.body.error.message).toMatch(/query\.to/);
  const unknown = await api('GET', '/stats/daily?from=2026-03-01&to=2026-03-02&tz=UTC', { key });
  expect(unknown.status).toBe(400);
});

it('needs orders:read', async () => {
  const writeOnly = (await makeKey(h.db, ['orders:write'])).secret;
  const res = await api('GET', '/stats/daily?from=2026-03-01&to=2026-03-01', { key: writeOnly });
  expect(res.status).toBe(403);
  expect(res.body.error).toMatchObject({ code: 'insufficient_scope', details: { required: 'orders:read' } });
});
