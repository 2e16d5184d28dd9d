// Each watchlist raises its alert when its condition appears and resolves it when the condition goes;
// evaluating again changes nothing; every change is in the history and in the outbox (alert.opened /
// alert.resolved); thresholds come from the console's settings.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  alerts,
  billFiles,
  discrepancies,
  orders,
  outboxEvents,
  paymentAttempts,
  refunds,
  webhookDeliveries,
  webhookEndpoints,
  webhookMessages,
  wechatpayNotifications,
} from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { acknowledgeAlert, alertCounts, alertHistoryOf } from '@/server/monitoring/alerts';
import { DEFAULT_THRESHOLDS, getThresholds, setThresholds } from '@/server/monitoring/settings';
import { evaluateWatchlists } from '@/server/monitoring/watchlists';
import { paymentContext } from '@/server/payments/context';
import { createOrder, insertAttempt } from '@/server/payments/orders';
import { applyPaymentResult, type PaymentSource } from '@/server/payments/payment-result';
import { decideDiscrepancy, recordFinding } from '@/server/reconciliation/discrepancies';
import { BILL_KINDS } from '@/server/reconciliation/import';
import { createEndpoint, updateEndpoint } from '@/server/webhooks/endpoints';
import { applyRefundStatus, latePaymentRefundNo } from '@/server/refunds';
import { successfulTransaction } from '@/simulator/testkit';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, ownDatabase: true, env: { LATE_PAYMENT_POLICY: 'refund' } });
});
afterAll(async () => {
  await h?.close();
});

let seq = 0;
// The bill rule reads the Beijing clock: its tests pass their own `now`.
const evaluate = (now = new Date()) => evaluateWatchlists(h.db, { now });
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
const raw = (q: string, params: unknown[] = []) => h.db.$client.unsafe(q, params as never[]);

async function pay(o: { outTradeNo: string; amountFen: number }, source: PaymentSource) {
  const t = successfulTransaction(h.credentials, { out_trade_no: o.outTradeNo, amount: o.amountFen, transaction_id: `4200${String(++seq).padStart(24, '0')}` });
  await h.db.transaction((tx) => applyPaymentResult(tx, t as never, paymentContext(h.deps, source)));
}
async function notification(receivedAt: Date, processed: boolean) {
  const [row] = await h.db
    .insert(wechatpayNotifications)
    .values({
      notificationId: `W-${randomUUID()}`,
      eventType: 'TRANSACTION.SUCCESS',
      resourceType: 'encrypt-resource',
      serial: 'test',
      resource: {},
      receivedAt,
      lastReceivedAt: receivedAt,
      processedAt: processed ? receivedAt : null,
    })
    .returning();
  return row!;
}
async function alertEvents(alertId: number) {
  const rows = await h.db
    .select()
    .from(outboxEvents)
    .where(sql`${outboxEvents.payload}->>'alertId' = ${String(alertId)}`);
  return rows.map((r) => r.topic).sort();
}
async function alertOf(key: string) {
  const [a] = await h.db.select().from(alerts).where(eq(alerts.ruleKey, key)).orderBy(sql`${alerts.id} desc`).limit(1);
  return a;
}
async function expectRaised(key: string, now?: Date) {
  const r = await evaluate(now);
  expect(r.raised).toContain(key);
  const a = await alertOf(key);
  expect(a?.state).toBe('open');
  expect(await alertEvents(a!.id)).toEqual(['alert.opened']);
  // Idempotent: a second evaluation raises nothing more.
  expect((await evaluate(now)).raised).not.toContain(key);
  expect(await h.db.select().from(alerts).where(sql`${alerts.ruleKey} = ${key} and ${alerts.state} <> 'resolved'`)).toHaveLength(1);
  return a!;
}
async function expectResolved(key: string, now?: Date) {
  const r = await evaluate(now);
  expect(r.resolved).toContain(key);
  const a = await alertOf(key);
  expect(a?.state).toBe('resolved');
  expect(a?.resolvedAt).toBeInstanceOf(Date);
  expect(await alertEvents(a!.id)).toEqual(['alert.opened', 'alert.resolved']);
  expect((await alertHistoryOf(h.db, a!.id)).map((x) => x.toState)).toContain('resolved');
  expect((await evaluate(now)).resolved).not.toContain(key);
}

it('a payment taken twice and its refund stuck: raised, then resolved when the refund succeeds', async () => {
  const o = await createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000 });
  const [order] = await h.db.select().from(orders).where(eq(orders.id, o.orderId));
  const second = await h.db.transaction((tx) =>
    insertAttempt(tx, { orderId: o.orderId, amountFen: o.amountFen, description: order!.description }, { expireMinutes: 15, scale: 1000 }),
  );
  await pay(o, 'notify');
  const [att] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.id, second.id));
  await pay({ outTradeNo: att!.outTradeNo, amountFen: o.amountFen }, 'query');
  const refundNo = latePaymentRefundNo(att!.outTradeNo);
  const [refund] = await h.db.select().from(refunds).where(eq(refunds.outRefundNo, refundNo));

  const late = await expectRaised(`paid_past_expiry:${second.id}`);
  expect(late.orderId).toBe(o.orderId);
  // A fresh refund is not stuck; one requested 10 minutes ago is.
  expect((await evaluate()).raised).not.toContain(`refund_stuck:${refund!.id}`);
  await h.db
    .update(refunds)
    .set({ createdAt: minutesAgo(10) })
    .where(eq(refunds.id, refund!.id));
  await expectRaised(`refund_stuck:${refund!.id}`);

  await h.db.transaction((tx) => applyRefundStatus(tx, refundNo, { status: 'SUCCESS', refundId: 'R-W1' }, 'notify'));
  await expectResolved(`refund_stuck:${refund!.id}`);
  const a = await alertOf(`paid_past_expiry:${second.id}`);
  expect(a?.state).toBe('resolved');
});

it('unprocessed inbox rows and notification silence while payments happen', async () => {
  // The first test's payments came with no notification at all: that was silence too.
  const fresh = await notification(new Date(), true);
  await evaluate();
  expect((await alertOf('notify_silence'))?.state ?? 'resolved').toBe('resolved');
  const stale = await notification(minutesAgo(30), false);
  await expectRaised('inbox_unprocessed');
  await h.db.update(wechatpayNotifications).set({ processedAt: new Date() }).where(eq(wechatpayNotifications.id, stale.id));
  await expectResolved('inbox_unprocessed');

  // The last notification is 30 minutes old and payments are made (learned by the shopper): silence.
  await h.db
    .update(wechatpayNotifications)
    .set({ receivedAt: minutesAgo(30), lastReceivedAt: minutesAgo(30) })
    .where(eq(wechatpayNotifications.id, fresh.id));
  const o = await createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000 });
  await pay(o, 'shopper');
  const silent = await expectRaised('notify_silence');
  // Acknowledged: still unresolved, not raised again.
  await acknowledgeAlert(h.db, SYSTEM_ACTOR, silent.id, 'looking at the firewall');
  expect((await alertOf('notify_silence'))?.state).toBe('acknowledged');
  expect((await evaluate()).raised).not.toContain('notify_silence');
  expect((await alertCounts(h.db)).unresolved).toBeGreaterThan(0);
  await notification(new Date(), true);
  await expectResolved('notify_silence');
  expect((await alertHistoryOf(h.db, silent.id)).map((x) => [x.fromState, x.toState])).toEqual([
    [null, 'open'],
    ['open', 'acknowledged'],
    ['acknowledged', 'resolved'],
  ]);
});

it('dead letters, a stuck queue and a failure rate over the threshold', async () => {
  const dead = 'payment.query-attempt.dead';
  const deadId = randomUUID();
  await raw(`insert into pgboss.job (id, name, data) values ($1, $2, '{}')`, [deadId, dead]);
  await expectRaised(`dead_letters:${dead}`);
  await raw(`delete from pgboss.job where id = $1`, [deadId]);
  await expectResolved(`dead_letters:${dead}`);

  const stuckId = randomUUID();
  await raw(`insert into pgboss.job (id, name, data, start_after) values ($1, 'console.export', '{}', now() - interval '10 minutes')`, [stuckId]);
  await expectRaised('queue_backlog:console.export');
  await raw(`delete from pgboss.job where id = $1`, [stuckId]);
  await expectResolved('queue_backlog:console.export');

  const q = 'stats.nightly';
  await raw(`insert into pgboss.job (name, data, state, started_on, completed_on) select $1, '{}', 'failed', now(), now() from generate_series(1, 20)`, [q]);
  await expectRaised(`failure_rate:${q}`);
  // 20 failures out of 120 runs: 16.7 %, under the default 20 %.
  await raw(`insert into pgboss.job (name, data, state, started_on, completed_on) select $1, '{}', 'completed', now(), now() from generate_series(1, 100)`, [
    q,
  ]);
  await expectResolved(`failure_rate:${q}`);
  // The threshold is the console's: at 10 % the same runs are over it again.
  await setThresholds(h.db, SYSTEM_ACTOR, { ...(await getThresholds(h.db)), failureRatePercent: 10 }, 'stricter');
  await expectRaised(`failure_rate:${q}`);
  await setThresholds(h.db, SYSTEM_ACTOR, DEFAULT_THRESHOLDS, null);
  await expectResolved(`failure_rate:${q}`);
  await raw(`delete from pgboss.job where name = $1`, [q]);
});

it('webhook deliveries due for longer than the queue threshold and not attempted (no worker claims them)', async () => {
  const e = await createEndpoint(h.db, SYSTEM_ACTOR, { url: 'https://hooks.example.com/overdue' }, 'simulator');
  const messageId = `evt_test_${randomUUID().replaceAll('-', '')}`;
  await h.db.insert(webhookMessages).values({ id: messageId, type: 'webhook.test', body: '{}' });
  const [d] = await h.db
    .insert(webhookDeliveries)
    .values({ endpointId: e.id, messageId, nextAttemptAt: minutesAgo(1) })
    .returning();
  expect((await evaluate()).raised).not.toContain('webhook_deliveries_overdue');
  // Due 10 minutes ago (or a lease that ran out then: the worker holding it died and none took it over).
  await h.db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: minutesAgo(10), leasedUntil: minutesAgo(10) })
    .where(eq(webhookDeliveries.id, d!.id));
  const a = await expectRaised('webhook_deliveries_overdue');
  expect(a.data).toMatchObject({ count: 1 });
  // Attempted: the condition is gone.
  await h.db.update(webhookDeliveries).set({ status: 'succeeded', nextAttemptAt: null, leasedUntil: null }).where(eq(webhookDeliveries.id, d!.id));
  await expectResolved('webhook_deliveries_overdue');
  await updateEndpoint(h.db, SYSTEM_ACTOR, e.id, { disabled: true }, 'simulator');
});

it("a webhook endpoint failing every delivery past the threshold; disabled, it is the other alert's business", async () => {
  const e = await createEndpoint(h.db, SYSTEM_ACTOR, { url: 'https://hooks.example.com/scanpay' }, 'simulator');
  const key = `webhook_endpoint_failing:${e.id}`;
  const failingSince = (m: number) =>
    h.db
      .update(webhookEndpoints)
      .set({ failingSince: minutesAgo(m) })
      .where(eq(webhookEndpoints.id, e.id));
  await failingSince(10);
  expect((await evaluate()).raised).not.toContain(key);
  await failingSince(40);
  const a = await expectRaised(key);
  expect(a.data).toMatchObject({ endpointId: e.id, url: 'https://hooks.example.com/scanpay' });
  // A success clears failing_since (deliveries.ts): the condition is gone.
  await h.db.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, e.id));
  await expectResolved(key);
  // Failing again, then disabled by the merchant: no longer watched.
  await failingSince(40);
  await expectRaised(key);
  await updateEndpoint(h.db, SYSTEM_ACTOR, e.id, { disabled: true }, 'simulator');
  await expectResolved(key);
  // A threshold of the console's: 60 minutes, and 40 minutes of failures on an enabled endpoint is not yet one.
  await updateEndpoint(h.db, SYSTEM_ACTOR, e.id, { disabled: false }, 'simulator');
  await failingSince(40);
  await setThresholds(h.db, SYSTEM_ACTOR, { ...DEFAULT_THRESHOLDS, endpointFailingMinutes: 60 }, 'patient receiver');
  expect((await evaluate()).raised).not.toContain(key);
  await setThresholds(h.db, SYSTEM_ACTOR, DEFAULT_THRESHOLDS, null);
  await expectRaised(key);
  await h.db.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, e.id));
  await expectResolved(key);
});

it("yesterday's bills not in by 11:00 Beijing time, per day of the daily job's window", async () => {
  // Beijing 2026-11-20: 10:30 is before the deadline for the 19th, 11:00 is the deadline.
  const before = new Date('2026-11-20T10:30:00+08:00');
  const at = new Date('2026-11-20T11:00:00+08:00');
  const file = (billDate: string, kind: string, status: string) =>
    h.db
      .insert(billFiles)
      .values({ billDate, kind, status })
      .onConflictDoUpdate({ target: [billFiles.billDate, billFiles.kind], set: { status } });
  // The 17th is settled (a quiet fund account has no statement); the 18th never was fetched.
  for (const k of BILL_KINDS) await file('2026-11-17', k, k === 'fund_FEES' ? 'no_statement' : 'imported');
  const r = await evaluate(before);
  expect(r.raised).toContain('bill_not_fetched:2026-11-18');
  expect(r.raised).not.toContain('bill_not_fetched:2026-11-17');
  expect(r.raised).not.toContain('bill_not_fetched:2026-11-19');
  for (const k of BILL_KINDS) await file('2026-11-18', k, 'imported');
  await expectResolved('bill_not_fetched:2026-11-18', before);

  // The 19th: the trade bill is in, one fund bill is still being generated at 11:00.
  for (const k of BILL_KINDS) await file('2026-11-19', k, k === 'fund_OPERATION' ? 'not_ready' : 'imported');
  const late = await expectRaised('bill_not_fetched:2026-11-19', at);
  expect(late.data).toMatchObject({ billDate: '2026-11-19', missing: ['fund_OPERATION'] });
  expect(late.message).toContain('11:00');
  await file('2026-11-19', 'fund_OPERATION', 'failed');
  expect((await evaluate(at)).raised).not.toContain('bill_not_fetched:2026-11-19');
  await file('2026-11-19', 'fund_OPERATION', 'imported');
  await expectResolved('bill_not_fetched:2026-11-19', at);

  // The deadline is the console's: at 10:00, 10:30 is already late for a day not fetched.
  await h.db.delete(billFiles).where(eq(billFiles.billDate, '2026-11-19'));
  expect((await evaluate(before)).raised).not.toContain('bill_not_fetched:2026-11-19');
  await setThresholds(h.db, SYSTEM_ACTOR, { ...DEFAULT_THRESHOLDS, billDeadlineHour: 10 }, 'earlier');
  await expectRaised('bill_not_fetched:2026-11-19', before);
  await setThresholds(h.db, SYSTEM_ACTOR, DEFAULT_THRESHOLDS, null);
  await expectResolved('bill_not_fetched:2026-11-19', before);
});

it('open discrepancies, one alert per day, resolved when every one of them is decided', async () => {
  const day = '2026-11-18';
  const key = `reconciliation_open_discrepancies:${day}`;
  const finding = (subjectKey: string, cls: 'external_trade' | 'amount_mismatch') =>
    h.db.transaction((tx) => recordFinding(tx, { billDate: day, class: cls, subjectKey, state: 'open', ours: {}, bill: {}, proposedFix: 'look' }));
  const a = await finding(`W-${randomUUID()}`, 'external_trade');
  const first = await expectRaised(key);
  expect(first.data).toMatchObject({ billDate: day, count: 1, classes: ['external_trade'] });
  const b = await finding(`W-${randomUUID()}`, 'amount_mismatch');
  expect((await evaluate()).raised).not.toContain(key);
  await decideDiscrepancy(h.db, SYSTEM_ACTOR, { id: a.id, action: 'ignore', reason: 'a test trade' });
  // One is still open: the alert stays.
  expect((await evaluate()).resolved).not.toContain(key);
  expect((await alertOf(key))?.state).toBe('open');
  await decideDiscrepancy(h.db, SYSTEM_ACTOR, { id: b.id, action: 'received', reason: 'checked with WeChat' });
  await expectResolved(key);
  expect(await h.db.select().from(discrepancies).where(eq(discrepancies.state, 'open'))).toHaveLength(0);
});
