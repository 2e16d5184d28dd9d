// The rollups equal a direct recomputation from the raw tables: payments learned by notify, query and the
// shopper on both sides of a Beijing midnight, an expired order, a QR renewal paid twice (a late payment
// refunded), rejected notifications. The stats consumer runs on the relay's real batches, the minute cron
// where there is no event (an order created, rejects); replaying them and recomputeStats change nothing.
// The expected figures come from the raw tables by a query of their own, never from the stats tables.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Job } from 'pg-boss';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orders, paymentAttempts, refunds, statsDaily, statsHourly, statsSlices, wechatpayNotificationRejects, wechatpayNotifications } from '@/db/schema';
import statsRollup from '@/server/jobs/handlers/stats-rollup';
import type { JobHandler } from '@/server/jobs/handler';
import { runBatch } from '@/server/jobs/worker';
import { OUTBOX_CONSUMERS } from '@/server/outbox/consumers';
import { relayOutbox } from '@/server/outbox/relay';
import { writeOutboxEvent } from '@/server/outbox/write';
import { paymentContext } from '@/server/payments/context';
import { createOrder, insertAttempt } from '@/server/payments/orders';
import { applyPaymentResult, type PaymentSource } from '@/server/payments/payment-result';
import { processNotification } from '@/server/payments/process-notification';
import { applyRefundStatus, latePaymentRefundNo } from '@/server/refunds';
import { transitionAttempt, transitionOrder } from '@/server/orders/state';
import type { QueueName } from '@/server/queue/catalogue';
import { refreshRecent } from '@/server/stats/consume';
import { dailyStats } from '@/server/stats/daily';
import { bucketOf, emptyHist, quantile } from '@/server/stats/histogram';
import { recomputeStats } from '@/server/stats/rollup';
import { successfulTransaction } from '@/simulator/testkit';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, ownDatabase: true, env: { LATE_PAYMENT_POLICY: 'refund' } });
});
afterAll(async () => {
  await h?.close();
});

// Beijing midnight between 29 and 30 November 2026.
const MIDNIGHT = Date.parse('2026-11-29T16:00:00Z');
const at = (minutes: number) => new Date(MIDNIGHT + minutes * 60_000);
let seq = 0;
const txId = () => `4200${String(++seq).padStart(24, '0')}`;

async function order(createdMin: number, product = 'ceramic-mug') {
  return createOrder(h.db, { items: [{ productId: product, quantity: 1 }], expireMinutes: 15, scale: 1000, now: at(createdMin) });
}
async function showQr(attemptId: string) {
  await h.db
    .update(paymentAttempts)
    .set({ codeUrl: `weixin://wxpay/bizpayurl?pr=${attemptId.slice(0, 8)}` })
    .where(eq(paymentAttempts.id, attemptId));
}
async function pay(o: { outTradeNo: string; amountFen: number }, source: PaymentSource, paidMin: number) {
  const t = successfulTransaction(h.credentials, { out_trade_no: o.outTradeNo, amount: o.amountFen, transaction_id: txId() }, at(paidMin).getTime());
  if (source === 'notify') {
    // Received 2 s after WeChat's success time, processed 300 ms later.
    const received = new Date(at(paidMin).getTime() + 2_000);
    const [row] = await h.db
      .insert(wechatpayNotifications)
      .values({
        notificationId: `ST-${randomUUID()}`,
        eventType: 'TRANSACTION.SUCCESS',
        resourceType: 'encrypt-resource',
        serial: 'test',
        resource: t,
        receivedAt: received,
        lastReceivedAt: received,
        deliveries: 2,
      })
      .returning({ id: wechatpayNotifications.id });
    await processNotification(h.db, row!.id, { ...paymentContext(h.deps, 'notify'), now: () => at(paidMin) });
    await h.db.execute(sql`update wechatpay_notifications set processed_at = received_at + interval '300 milliseconds' where id = ${row!.id}`);
    return;
  }
  await h.db.transaction((tx) => applyPaymentResult(tx, t as never, { ...paymentContext(h.deps, source), now: () => at(paidMin) }));
}

/** The relay's real batches, run through the stats consumer's handler as the worker would. */
async function consume(): Promise<Job<unknown>[]> {
  while ((await relayOutbox(h.db, OUTBOX_CONSUMERS)) > 0);
  const jobs = await h.db.$client.unsafe<{ id: string; data: unknown }[]>(`select id, data from pgboss.job where name = 'stats.rollup' and state = 'created'`);
  const batch = jobs.map((j) => ({ id: j.id, data: j.data }) as Job<unknown>);
  const results = await runBatch(statsRollup as unknown as JobHandler<QueueName>, batch, h.deps);
  expect(results.every((r) => r.status === 'completed')).toBe(true);
  await h.db.$client.unsafe(`delete from pgboss.job where name = 'stats.rollup' and id = any($1::uuid[])`, [jobs.map((j) => j.id)]);
  return batch;
}

/** Per Beijing day, straight from the raw tables with Postgres's own time-zone rules. */
async function direct() {
  const rows = await h.db.execute(sql`
    with pay as (
      select paid_at, amount_fen, paid_via from orders where paid_at is not null
      union all select paid_at, amount_fen, paid_via from payment_attempts where late_payment is not null and status = 'paid'
    ), p as (
      select (paid_at at time zone 'Asia/Shanghai')::date::text as day, count(*)::int as paid, sum(amount_fen)::int as gross,
        sum(round(amount_fen * 0.006))::int as fees,
        count(*) filter (where paid_via = 'notify')::int as notify, count(*) filter (where paid_via = 'query')::int as query,
        count(*) filter (where paid_via = 'shopper')::int as shopper, count(*) filter (where paid_via = 'bill')::int as bill
      from pay group by 1
    ), r as (
      select (updated_at at time zone 'Asia/Shanghai')::date::text as day, count(*)::int as refunds, sum(amount_fen)::int as refund_fen
      from refunds where status = 'succeeded' group by 1
    ), c as (
      select (created_at at time zone 'Asia/Shanghai')::date::text as day, count(*)::int as created,
        count(*) filter (where status = 'closed')::int as expired,
        count(*) filter (where exists (select 1 from payment_attempts a where a.order_id = o.id and a.code_url is not null))::int as shown,
        sum((select count(*) from payment_attempts a where a.order_id = o.id))::int as attempts
      from orders o group by 1
    ), n as (
      select (received_at at time zone 'Asia/Shanghai')::date::text as day, count(*)::int as notifications, sum(deliveries)::int as deliveries
      from wechatpay_notifications group by 1
    )
    select day, coalesce(paid, 0) as paid, coalesce(gross, 0) as gross, coalesce(fees, 0) as fees,
      coalesce(notify, 0) as notify, coalesce(query, 0) as query, coalesce(shopper, 0) as shopper, coalesce(bill, 0) as bill,
      coalesce(refunds, 0) as refunds, coalesce(refund_fen, 0) as refund_fen, coalesce(created, 0) as created,
      coalesce(expired, 0) as expired, coalesce(shown, 0) as shown, coalesce(attempts, 0) as attempts,
      coalesce(notifications, 0) as notifications, coalesce(deliveries, 0) as deliveries
    from p full join r using (day) full join c using (day) full join n using (day) order by day`);
  return rows as unknown as Record<string, number | string>[];
}

/** Per Beijing day: the three latency histograms, the rejects and the last notification, bucketed here row by row. */
async function rawHistograms() {
  const day = (col: string) => `(${col} at time zone 'Asia/Shanghai')::date::text`;
  const read = async (text: string) => (await h.db.execute(sql.raw(text))) as unknown as { day: string; ms: number }[];
  const out = new Map<string, { ttp: number[]; wechat: number[]; ours: number[]; rejects: Record<string, number>; last: number | null }>();
  const of = (d: string) => {
    if (!out.has(d)) out.set(d, { ttp: emptyHist(), wechat: emptyHist(), ours: emptyHist(), rejects: {}, last: null });
    return out.get(d)!;
  };
  for (const r of await read(`select ${day('paid_at')} as day, extract(epoch from paid_at - created_at) * 1000 as ms from orders where paid_at is not null`))
    of(r.day).ttp[bucketOf(Number(r.ms))]! += 1;
  const inbox = `from wechatpay_notifications`;
  for (const r of await read(
    `select ${day('received_at')} as day, extract(epoch from received_at - (resource->>'success_time')::timestamptz) * 1000 as ms ${inbox} where resource->>'success_time' is not null`,
  ))
    of(r.day).wechat[bucketOf(Number(r.ms))]! += 1;
  for (const r of await read(
    `select ${day('received_at')} as day, extract(epoch from processed_at - received_at) * 1000 as ms ${inbox} where processed_at is not null`,
  ))
    of(r.day).ours[bucketOf(Number(r.ms))]! += 1;
  for (const r of await read(`select ${day('received_at')} as day, extract(epoch from max(last_received_at)) * 1000 as ms ${inbox} group by 1`))
    of(r.day).last = Number(r.ms);
  const rejects = (await h.db.execute(
    sql.raw(`select ${day('minute')} as day, reason, sum(count)::int as n from wechatpay_notification_reject_counts group by 1, 2`),
  )) as unknown as { day: string; reason: string; n: number }[];
  for (const r of rejects) of(r.day).rejects[r.reason] = r.n;
  return out;
}

async function rolled() {
  const days = await h.db.select().from(statsDaily).orderBy(statsDaily.day);
  return days.map((d) => ({
    day: d.day,
    paid: d.paidCount,
    gross: d.grossFen,
    fees: d.feesEstimatedFen,
    notify: d.viaNotify,
    query: d.viaQuery,
    shopper: d.viaShopper,
    bill: d.viaBill,
    refunds: d.refundCount,
    refund_fen: d.refundFen,
    created: d.createdCount,
    expired: d.expiredCount,
    shown: d.qrShownCount,
    attempts: d.attemptCount,
    notifications: d.notifyCount,
    deliveries: d.notifyDeliveries,
  }));
}

const snapshot = async () => ({
  slices: (await h.db.select().from(statsSlices).orderBy(statsSlices.bucketStart)).map(({ computedAt: _, ...r }) => r),
  hourly: (await h.db.select().from(statsHourly).orderBy(statsHourly.bucketStart)).map(({ computedAt: _, ...r }) => r),
  daily: (await h.db.select().from(statsDaily).orderBy(statsDaily.day)).map(({ computedAt: _, ...r }) => r),
});

it('keeps hourly and daily rollups equal to a recomputation from the raw tables, across a Beijing midnight', async () => {
  // Before midnight (Beijing 29 Nov): notify, query, shopper; one order expires; one is never shown.
  const a = await order(-50);
  await showQr(a.attemptId);
  await pay(a, 'notify', -45);
  const b = await order(-40, 'longjing-tea');
  await showQr(b.attemptId);
  await pay(b, 'query', -30);
  const c = await order(-20);
  await showQr(c.attemptId);
  await pay(c, 'shopper', -18);
  const expired = await order(-15);
  await showQr(expired.attemptId);
  await h.db.transaction(async (tx) => {
    await transitionAttempt(tx, expired.attemptId, 'closed', { closedAt: at(0) });
    await transitionOrder(tx, { orderId: expired.orderId, to: 'closed', source: 'system', event: 'order.closed' });
  });
  await order(-5); // created, never shown
  // An order created before midnight, paid after it (money counts on the 30th, the order on the 29th).
  const d = await order(-3);
  await showQr(d.attemptId);
  await pay(d, 'notify', 4);
  await h.db.insert(wechatpayNotificationRejects).values([
    { minute: at(-10), reason: 'bad_signature', count: 3 },
    { minute: at(10), reason: 'stale_timestamp', count: 2 },
  ]);
  const firstBatch = await consume();
  // The minute cron as it runs at 00:00 and 00:12: the order created at 23:55 and the rejects have no event.
  await refreshRecent(h.db, at(0));
  await refreshRecent(h.db, at(12));

  // After midnight: a renewed QR code, both codes paid (the second is a double payment, refunded).
  const e = await order(20);
  await showQr(e.attemptId);
  const [eRow] = await h.db.select().from(orders).where(eq(orders.id, e.orderId));
  const renewed = await h.db.transaction((tx) =>
    insertAttempt(tx, { orderId: e.orderId, amountFen: e.amountFen, description: eRow!.description }, { expireMinutes: 15, scale: 1000, now: at(25) }),
  );
  await pay(e, 'notify', 26);
  const second = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.id, renewed.id));
  await pay({ outTradeNo: second[0]!.outTradeNo, amountFen: e.amountFen }, 'query', 28);
  const refundNo = latePaymentRefundNo(second[0]!.outTradeNo);
  await h.db.transaction((tx) => applyRefundStatus(tx, refundNo, { status: 'SUCCESS', refundId: 'R-1' }, 'notify'));
  await h.db
    .update(refunds)
    .set({ updatedAt: at(40) })
    .where(eq(refunds.outRefundNo, refundNo));
  // The refunds domain's event (its producer is another issue's): the consumer recomputes by the order.
  await h.db.transaction((tx) =>
    writeOutboxEvent(tx, { topic: 'refund.succeeded', orderId: e.orderId, dedupeKey: `refund.succeeded:${refundNo}`, payload: { outRefundNo: refundNo } }),
  );
  const secondBatch = await consume();
  // Only the consumer (the slices its events touched, inbox rows in them too) and those two cron runs.
  const expected = await direct();
  expect(await rolled()).toEqual(expected.filter((r) => r.day === '2026-11-29' || r.day === '2026-11-30'));
  expect(expected.map((r) => r.day)).toEqual(expect.arrayContaining(['2026-11-29', '2026-11-30']));

  // The figures themselves, so the comparison cannot pass on two empty sides.
  const days = await dailyStats(h.db, '2026-11-29', '2026-11-30');
  expect(days).toEqual([
    {
      date: '2026-11-29',
      paidCount: 3,
      grossFen: a.amountFen + b.amountFen + c.amountFen,
      refundCount: 0,
      refundFen: 0,
      netFen: expect.any(Number),
      feesFen: expect.any(Number),
      learnedVia: { notify: 1, query: 1, shopper: 1, bill: 0 },
    },
    {
      date: '2026-11-30',
      paidCount: 3,
      grossFen: d.amountFen + 2 * e.amountFen,
      refundCount: 1,
      refundFen: e.amountFen,
      netFen: expect.any(Number),
      feesFen: expect.any(Number),
      learnedVia: { notify: 2, query: 1, shopper: 0, bill: 0 },
    },
  ]);
  for (const day of days) expect(day.netFen).toBe(day.grossFen - day.refundFen - day.feesFen);
  const [d29] = await h.db.select().from(statsDaily).where(eq(statsDaily.day, '2026-11-29'));
  expect(d29).toMatchObject({ createdCount: 6, qrShownCount: 5, createdPaidCount: 4, expiredCount: 1, attemptCount: 6, rejects: { bad_signature: 3 } });
  expect(quantile(d29!.wechatLatencyHist, 0.5)).toBe(5_000); // 2 s → the [2 s, 5 s) bucket
  expect(quantile(d29!.ourLatencyHist, 0.95)).toBe(500); // 300 ms → [250, 500)
  expect(d29!.notifyDeliveries - d29!.notifyCount).toBe(1);
  // Every bucket of the histograms, the rejects and the last notification, against the raw rows.
  const raw = await rawHistograms();
  for (const day of ['2026-11-29', '2026-11-30']) {
    const [row] = await h.db.select().from(statsDaily).where(eq(statsDaily.day, day));
    expect({
      ttp: row!.timeToPayHist,
      wechat: row!.wechatLatencyHist,
      ours: row!.ourLatencyHist,
      rejects: row!.rejects,
      last: row!.lastNotifyAt ? new Date(row!.lastNotifyAt).getTime() : null,
    }).toEqual(raw.get(day));
  }
  expect(raw.get('2026-11-30')!.ttp.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

  // Replays change nothing: the same batches again, the nightly recompute again.
  const before = await snapshot();
  await h.db.$client.unsafe(`insert into pgboss.job (id, name, data) select gen_random_uuid(), 'stats.rollup', d from unnest($1::jsonb[]) d`, [
    [...firstBatch, ...secondBatch].map((j) => JSON.stringify(j.data)),
  ]);
  await consume();
  await recomputeStats(h.db, '2026-11-29', '2026-11-30');
  expect(await snapshot()).toEqual(before);
});

it('folds billed fees in after a bill import and keeps them through recomputes', async () => {
  const { recordBilledFees } = await import('@/server/stats/rollup');
  await recordBilledFees(h.db, '2026-11-30', 17);
  await recomputeStats(h.db, '2026-11-30', '2026-11-30');
  const [day] = await dailyStats(h.db, '2026-11-30', '2026-11-30');
  expect(day!.feesFen).toBe(17);
  expect(day!.netFen).toBe(day!.grossFen - day!.refundFen - 17);
});

it('gives the dashboard its figures from the rollups, with the period before', async () => {
  const { dashboardStats } = await import('@/server/stats/dashboard');
  const day = await dashboardStats(h.db, { from: '2026-11-30', to: '2026-11-30' }, at(120));
  expect(day.series).toHaveLength(24); // one day: per hour
  expect(day.series.reduce((a, s) => a + s.paidCount, 0)).toBe(day.totals.paidCount);
  expect(day.previousRange).toEqual({ from: '2026-11-29', to: '2026-11-29' });
  expect(day.previous.paidCount).toBe(3);
  expect(day.totals).toMatchObject({ paidCount: 3, refundCount: 1, feesFen: 17, feesBilled: true });
  expect(day.totals.averageTicketFen).toBe(Math.round(day.totals.grossFen / 3));
  expect(day.renewalsPerOrder).toBe(1); // one order, two QR codes
  expect(day.learnedVia).toEqual({ notify: 2, query: 1, shopper: 0, bill: 0 });
  const both = await dashboardStats(h.db, { from: '2026-11-29', to: '2026-11-30' }, at(120));
  expect(both.series.map((s) => s.label)).toEqual(['2026-11-29', '2026-11-30']);
  expect(both.funnel).toEqual({ created: 7, qrShown: 6, paid: 5, expired: 1 });
  expect(both.rejects).toEqual([
    { reason: 'bad_signature', count: 3 },
    { reason: 'stale_timestamp', count: 2 },
  ]);
  // Other files of a shared run may store later notifications: at least this file's last one (00:26:02 Beijing).
  expect(both.notifyNow.lastNotificationAt! >= at(26).toISOString()).toBe(true);
  await expect(dashboardStats(h.db, { from: '2026-11-30', to: '2026-11-01' })).rejects.toThrow();
});
