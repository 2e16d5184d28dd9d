// The dashboard's operations cards: webhook delivery health per endpoint over the last 24 h (success rate,
// p95 latency, last error) and the latest reconciled days with their open discrepancies. A database of its
// own: both read whole tables.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reconciliationDays, webhookAttempts, webhookDeliveries, webhookMessages } from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { decideDiscrepancy, recordFinding } from '@/server/reconciliation/discrepancies';
import { reconciliationStatus } from '@/server/reconciliation/status';
import { createEndpoint, deleteEndpoint, updateEndpoint } from '@/server/webhooks/endpoints';
import { deliveryHealth } from '@/server/webhooks/health';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, ownDatabase: true });
});
afterAll(async () => {
  await h?.close();
});

const hoursAgo = (n: number) => new Date(Date.now() - n * 3600_000);

/** One delivery of a fresh message to `endpointId`, answered as given at each of `answers`. */
async function attempts(endpointId: string, answers: { status: number | null; latencyMs: number; at: Date; error?: string }[]) {
  const id = `evt_test_${randomUUID()}`;
  await h.db.insert(webhookMessages).values({ id, type: 'payment.succeeded', body: '{}' });
  const [d] = await h.db.insert(webhookDeliveries).values({ endpointId, messageId: id }).returning();
  let n = 0;
  for (const a of answers) {
    await h.db.insert(webhookAttempts).values({
      deliveryId: d!.id,
      endpointId,
      messageId: id,
      attempt: ++n,
      url: 'https://example.com',
      requestHeaders: {},
      requestBody: '{}',
      responseStatus: a.status,
      latencyMs: a.latencyMs,
      error: a.error ?? (a.status !== null && a.status < 300 ? null : `HTTP ${a.status}`),
      outcome: a.status !== null && a.status < 300 ? 'succeeded' : 'retry',
      createdAt: a.at,
    });
  }
}

it('delivery health per endpoint: 24 h success rate, p95 latency and the last error', async () => {
  expect(await deliveryHealth(h.db)).toEqual([]);
  const good = await createEndpoint(h.db, SYSTEM_ACTOR, { url: 'https://good.example.com/hook' }, 'simulator');
  const bad = await createEndpoint(h.db, SYSTEM_ACTOR, { url: 'https://bad.example.com/hook' }, 'simulator');
  const idle = await createEndpoint(h.db, SYSTEM_ACTOR, { url: 'https://idle.example.com/hook' }, 'simulator');
  const gone = await createEndpoint(h.db, SYSTEM_ACTOR, { url: 'https://gone.example.com/hook' }, 'simulator');
  await deleteEndpoint(h.db, SYSTEM_ACTOR, gone.id);

  // good: 21 successes at 10..210 ms in the window; an old failure (30 h ago) outside the rate, still its last error.
  await attempts(good.id, [{ status: 500, latencyMs: 5000, at: hoursAgo(30), error: 'HTTP 500' }]);
  await attempts(
    good.id,
    Array.from({ length: 21 }, (_, i) => ({ status: 200, latencyMs: 10 * (i + 1), at: hoursAgo(1) })),
  );
  // bad: one success, three failures (a timeout the newest).
  await attempts(bad.id, [
    { status: 200, latencyMs: 100, at: hoursAgo(3) },
    { status: 503, latencyMs: 100, at: hoursAgo(2) },
    { status: 500, latencyMs: 100, at: hoursAgo(2) },
    { status: null, latencyMs: 15000, at: hoursAgo(1), error: 'timeout after 15000 ms' },
  ]);
  await updateEndpoint(h.db, SYSTEM_ACTOR, idle.id, { disabled: true }, 'simulator');

  const rows = await deliveryHealth(h.db);
  expect(rows.map((r) => r.url)).toEqual(['https://good.example.com/hook', 'https://bad.example.com/hook', 'https://idle.example.com/hook']);
  const [g, b, i] = rows;
  expect(g).toMatchObject({ attempts24h: 21, successRate24h: 1, disabled: false, lastError: { status: 500, error: 'HTTP 500' } });
  // percentile_cont over 10..210 (21 values): the 0.95 × 20 = 19th, exactly 200.
  expect(g!.p95LatencyMs24h).toBe(200);
  expect(b).toMatchObject({ attempts24h: 4, successRate24h: 0.25, lastError: { status: null, error: 'timeout after 15000 ms' } });
  expect(i).toMatchObject({ attempts24h: 0, successRate24h: null, p95LatencyMs24h: null, lastError: null, disabled: true });
  // The same figures as an endpoint's own health (the developers page).
  const { endpointHealth } = await import('@/server/webhooks/endpoints');
  const { pending, inFlight, ...own } = await endpointHealth(h.db, bad.id);
  expect({ attempts24h: b!.attempts24h, successRate24h: b!.successRate24h, p95LatencyMs24h: b!.p95LatencyMs24h, lastError: b!.lastError }).toEqual(own);
  // The endpoint's own health also counts its backlog: this file's delivery row is pending, none in flight.
  expect([pending, inFlight]).toEqual([1, 0]);
});

it('reconciliation status: the latest days first, matched share, open discrepancies per day and in all', async () => {
  expect(await reconciliationStatus(h.db)).toEqual({ days: [], openDiscrepancies: 0 });
  const days = ['2026-11-10', '2026-11-11', '2026-11-12', '2026-11-13', '2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17'];
  for (const [n, d] of days.entries())
    await h.db
      .insert(reconciliationDays)
      .values({ billDate: d, status: n === days.length - 1 ? 'provisional' : 'reconciled', matchedPercent: n === 6 ? '99.5' : '100' });
  const finding = (billDate: string) =>
    h.db.transaction((tx) =>
      recordFinding(tx, { billDate, class: 'external_trade', subjectKey: `W-${randomUUID()}`, state: 'open', ours: {}, bill: {}, proposedFix: 'look' }),
    );
  const a = await finding('2026-11-16');
  await finding('2026-11-16');
  await finding('2026-11-10'); // older than the 7 days shown, counted in the total
  await h.db.transaction((tx) =>
    recordFinding(tx, { billDate: '2026-11-17', class: 'fee_mismatch', subjectKey: 'X-1', state: 'auto_resolved', ours: {}, bill: {}, proposedFix: 'none' }),
  );

  const s = await reconciliationStatus(h.db, { days: 7 });
  expect(s.days.map((d) => d.billDate)).toEqual(days.slice(1).reverse());
  expect(s.days[0]).toMatchObject({ billDate: '2026-11-17', status: 'provisional', matchedPercent: 100, openDiscrepancies: 0 });
  expect(s.days[1]).toMatchObject({ billDate: '2026-11-16', status: 'reconciled', matchedPercent: 99.5, openDiscrepancies: 2 });
  expect(s.openDiscrepancies).toBe(3);
  await decideDiscrepancy(h.db, SYSTEM_ACTOR, { id: a.id, action: 'ignore', reason: 'a test trade' });
  const after = await reconciliationStatus(h.db, { days: 7 });
  expect(after.days[1]!.openDiscrepancies).toBe(1);
  expect(after.openDiscrepancies).toBe(2);
});
