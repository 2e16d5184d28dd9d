// Matching reads a day's bill rows a page at a time (server/reconciliation/match.ts): a day bigger than one
// page is matched whole, and a difference on a later page is found like one on the first. The bill is the
// benchmark's (WeChat's format, 2,300 payments), imported by storeFile against a ledger written by SQL.
import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discrepancies, orders } from '@/db/schema';
import { dayBounds } from '@/server/reconciliation/days';
import { storeFile } from '@/server/reconciliation/import';
import { matchDay } from '@/server/reconciliation/match';
import { computeReport } from '@/server/reconciliation/report';
import { bills, seedLedger } from '../../scripts/bench/scenarios/reconciliation';
import { startHarness, type Harness } from '../helpers/app-harness';

const DATE = '2026-06-01';
const N = 2300;
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ ownDatabase: true, worker: false });
  const { from } = dayBounds(DATE);
  await seedLedger(h.db, N, from);
  const { trade, fund } = bills(N, from.getTime());
  expect(await storeFile(h.db, DATE, 'trade_ALL', trade, sha1(trade))).toMatchObject({ status: 'imported', rows: N });
  expect(await storeFile(h.db, DATE, 'fund_BASIC', fund, sha1(fund))).toMatchObject({ status: 'imported' });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

it('a day of more than one page: every row matched, and a difference on the last page found', async () => {
  // One order of ours differs from the bill, late in transaction-id order (past the first page of 2,000).
  const odd = `42000${String(2200).padStart(23, '0')}`;
  await h.db.execute(sql`update payment_attempts set amount_fen = amount_fen + 1 where transaction_id = ${odd}`);
  const declared = await matchDay(h.deps, DATE);
  expect(declared.findings).toBe(1);
  const found = await h.db.select().from(discrepancies).where(eq(discrepancies.billDate, DATE));
  expect(found.map((d) => [d.class, d.transactionId])).toEqual([['amount_mismatch', odd]]);
  const [frozen] = await h.db.select().from(orders).where(eq(orders.transactionId, odd));
  expect(frozen?.status).toBe('review');
  // Every other row was read and matched: the report counts them all.
  const report = await computeReport(h.db, DATE, h.deps.env.RECONCILIATION_FEE_RATE_PPM);
  expect(report.ledger.paidCount).toBe(N);
  expect(report.matchedPercent).toBeCloseTo(((N - 1) / N) * 100, 1);
  // And a recompute reads the same pages and finds nothing new.
  expect((await matchDay(h.deps, DATE)).findings).toBe(0);
});
