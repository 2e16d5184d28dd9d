// Each watchlist raises its alert when its condition appears and resolves it when the condition goes;
// evaluating again changes nothing; every change is in the history and in the outbox (alert.opened /
// alert.resolved); thresholds come from the console's settings.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alerts, orders, outboxEvents, paymentAttempts, refunds, wechatpayNotifications } from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { acknowledgeAlert, alertCounts, alertHistoryOf } from '@/server/monitoring/alerts';
import { DEFAULT_THRESHOLDS, getThresholds, setThresholds } from '@/server/monitoring/settings';
import { evaluateWatchlists } from '@/server/monitoring/watchlists';
import { paymentContext } from '@/server/payments/context';
import { createOrder, insertAttempt } from '@/server/payments/orders';
import { applyPaymentResult, type PaymentSource } from '@/server/payments/payment-result';
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
const evaluate = () => evaluateWatchlists(h.db, { now: new Date() });
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
async function expectRaised(key: string) {
  const r = await evaluate();
  expect(r.raised).toContain(key);
  const a = await alertOf(key);
  expect(a?.state).toBe('open');
  expect(await alertEvents(a!.id)).toEqual(['alert.opened']);
  // Idempotent: a second evaluation raises nothing more.
  expect((await evaluate()).raised).not.toContain(key);
  expect(await h.db.select().from(alerts).where(sql`${alerts.ruleKey} = ${key} and ${alerts.state} <> 'resolved'`)).toHaveLength(1);
  return a!;
}
async function expectResolved(key: string) {
  const r = await evaluate();
  expect(r.resolved).toContain(key);
  const a = await alertOf(key);
  expect(a?.state).toBe('resolved');
  expect(a?.resolvedAt).toBeInstanceOf(Date);
  expect(await alertEvents(a!.id)).toEqual(['alert.opened', 'alert.resolved']);
  expect((await alertHistoryOf(h.db, a!.id)).map((x) => x.toState)).toContain('resolved');
  expect((await evaluate()).resolved).not.toContain(key);
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
