// The worker has two ways to process payment notifications — a whole batch at once (processNotificationBatch,
// then one by one for what it leaves) and one by one (processNotification) — and they must write exactly the
// same rows for every outcome: paid, duplicate, conflict, late, double, each kind of mismatch, malformed
// time, not paid, unknown order, malformed resource, refund events, an order with another open attempt.
// Each case is built twice from scratch, run through each path with the same fixed clock, and every row
// the paths wrote (order, attempts, timeline, outbox, alerts, refunds, inbox row, jobs) is compared with
// ids and database-set times replaced by placeholders.
import { randomUUID } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, orderEvents, orders, outboxEvents, paymentAttempts, refunds, wechatpayNotifications } from '@/db/schema';
import { paymentContext } from '@/server/payments/context';
import { createOrder, insertAttempt } from '@/server/payments/orders';
import { processNotification, processNotificationBatch } from '@/server/payments/process-notification';
import { latePaymentRefundNo } from '@/server/refunds/request';
import { successfulTransaction } from '@/simulator/testkit';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false }); // the test drives processing itself
});
afterAll(async () => {
  await h?.close();
});

const CLOCK = new Date('2026-11-30T04:05:06.000Z');
const ctx = () => ({ ...paymentContext(h.deps, 'notify'), now: () => CLOCK });
let seq = 0;
const transactionId = () => `42000${String(Date.now()).slice(-10)}${String(++seq).padStart(13, '0')}`;

interface Fixture {
  orderId: string;
  /** Inbox rows to process, in order (the last is the one under test; earlier ones set the scene). */
  inboxIds: number[];
  /** Strings to replace by placeholders when comparing (ids made by the fixture). */
  ids: string[];
}

async function store(eventType: string, resource: unknown): Promise<number> {
  const [row] = await h.db
    .insert(wechatpayNotifications)
    .values({ notificationId: `EQ-${randomUUID()}`, eventType, resourceType: 'encrypt-resource', serial: 'test', resource })
    .returning({ id: wechatpayNotifications.id });
  return row!.id;
}

async function newOrder() {
  return createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000, now: CLOCK });
}

type Tweak = (t: ReturnType<typeof successfulTransaction>) => unknown;
const payment = (o: { outTradeNo: string; amountFen: number }, tx: string, tweak: Tweak = (t) => t) =>
  tweak(successfulTransaction(h.credentials, { out_trade_no: o.outTradeNo, amount: o.amountFen, transaction_id: tx }, CLOCK.getTime() - 60_000));

/** A scene: an order in some state and the notification(s) to process. */
type Scene = () => Promise<Fixture>;

const simple =
  (tweak: Tweak): Scene =>
  async () => {
    const o = await newOrder();
    const tx = transactionId();
    return { orderId: o.orderId, inboxIds: [await store('TRANSACTION.SUCCESS', payment(o, tx, tweak))], ids: [o.outTradeNo, tx] };
  };

/** A first payment processed one by one, then a second notification for the same attempt. */
const twice =
  (second: (first: string) => string): Scene =>
  async () => {
    const o = await newOrder();
    const first = transactionId();
    const other = second(first);
    const firstId = await store('TRANSACTION.SUCCESS', payment(o, first));
    await processNotification(h.db, firstId, ctx());
    return { orderId: o.orderId, inboxIds: [await store('TRANSACTION.SUCCESS', payment(o, other))], ids: [o.outTradeNo, first, other, String(firstId)] };
  };

const SCENES: Record<string, Scene> = {
  paid: simple((t) => t),
  duplicate: twice((first) => first),
  'conflict (another transaction id for a paid attempt)': twice(() => transactionId()),
  'mismatch: mchid': simple((t) => ({ ...t, mchid: '1900000999' })),
  'mismatch: appid': simple((t) => ({ ...t, appid: 'wx0000000000000999' })),
  'mismatch: amount': simple((t) => ({ ...t, amount: { ...t.amount, total: t.amount.total + 1 } })),
  'mismatch: currency': simple((t) => ({ ...t, amount: { ...t.amount, currency: 'USD' } })),
  'mismatch: transaction_id missing': simple(({ transaction_id: _drop, ...t }) => t),
  'malformed success_time (paid at the clock)': simple((t) => ({ ...t, success_time: 'yesterday-ish' })),
  'missing success_time': simple(({ success_time: _drop, ...t }) => t),
  'not paid (NOTPAY)': simple((t) => ({ ...t, trade_state: 'NOTPAY' })),
  'closed at WeChat': simple((t) => ({ ...t, trade_state: 'CLOSED' })),
  'REFUND trade state counts as paid': simple((t) => ({ ...t, trade_state: 'REFUND' })),
  'unknown order': async () => {
    const o = await newOrder();
    const tx = transactionId();
    const unknown = `SPUNKNOWN${randomUUID().slice(0, 8)}`;
    return {
      orderId: o.orderId,
      inboxIds: [await store('TRANSACTION.SUCCESS', payment({ outTradeNo: unknown, amountFen: o.amountFen }, tx))],
      ids: [o.outTradeNo, unknown, tx],
    };
  },
  'malformed resource': async () => {
    const o = await newOrder();
    return { orderId: o.orderId, inboxIds: [await store('TRANSACTION.SUCCESS', { out_trade_no: o.outTradeNo, amount: 'lots' })], ids: [o.outTradeNo] };
  },
  'late: paid after the attempt was closed': async () => {
    const o = await newOrder();
    await h.db.update(paymentAttempts).set({ status: 'closed', closedAt: CLOCK }).where(eq(paymentAttempts.id, o.attemptId));
    const tx = transactionId();
    return { orderId: o.orderId, inboxIds: [await store('TRANSACTION.SUCCESS', payment(o, tx))], ids: [o.outTradeNo, tx, latePaymentRefundNo(o.outTradeNo)] };
  },
  'double: a second attempt paid after the first paid the order': async () => {
    const o = await newOrder();
    const second = await h.db.transaction((tx) =>
      insertAttempt(tx, { orderId: o.orderId, amountFen: o.amountFen, description: 'mug' }, { expireMinutes: 15, scale: 1000, now: CLOCK }),
    );
    await h.db.update(paymentAttempts).set({ status: 'awaiting_payment' }).where(eq(paymentAttempts.id, second.id));
    const first = transactionId();
    const firstId = await store('TRANSACTION.SUCCESS', payment(o, first));
    await processNotification(h.db, firstId, ctx());
    await h.db.update(paymentAttempts).set({ status: 'awaiting_payment', closedAt: null }).where(eq(paymentAttempts.id, second.id)); // still open when paid
    const other = transactionId();
    const ids = [o.outTradeNo, second.outTradeNo, first, other, String(firstId), latePaymentRefundNo(second.outTradeNo)];
    return {
      orderId: o.orderId,
      inboxIds: [await store('TRANSACTION.SUCCESS', payment({ outTradeNo: second.outTradeNo, amountFen: o.amountFen }, other))],
      ids,
    };
  },
  'paid while another attempt is open (it gets closed)': async () => {
    const o = await newOrder();
    const second = await h.db.transaction((tx) =>
      insertAttempt(tx, { orderId: o.orderId, amountFen: o.amountFen, description: 'mug' }, { expireMinutes: 15, scale: 1000, now: CLOCK }),
    );
    const tx = transactionId();
    return { orderId: o.orderId, inboxIds: [await store('TRANSACTION.SUCCESS', payment(o, tx))], ids: [o.outTradeNo, second.outTradeNo, tx] };
  },
  'refund notification (REFUND.SUCCESS of a late-payment refund)': async () => {
    const o = await newOrder();
    await h.db.update(paymentAttempts).set({ status: 'closed', closedAt: CLOCK }).where(eq(paymentAttempts.id, o.attemptId));
    const tx = transactionId();
    const lateId = await store('TRANSACTION.SUCCESS', payment(o, tx));
    await processNotification(h.db, lateId, ctx());
    const outRefundNo = latePaymentRefundNo(o.outTradeNo);
    const refundId = `50300${String(++seq).padStart(25, '0')}`;
    const inbox = await store('REFUND.SUCCESS', {
      mchid: h.credentials.mchid,
      out_trade_no: o.outTradeNo,
      transaction_id: tx,
      out_refund_no: outRefundNo,
      refund_id: refundId,
      refund_status: 'SUCCESS',
    });
    return { orderId: o.orderId, inboxIds: [inbox], ids: [o.outTradeNo, tx, outRefundNo, refundId, String(lateId)] };
  },
};

/** What the worker does with a batch: the batch path first, then one by one for what it left. */
async function viaBatch(f: Fixture): Promise<void> {
  const done = await processNotificationBatch(h.db, f.inboxIds, ctx());
  for (const id of f.inboxIds) if (!done.has(id)) await processNotification(h.db, id, ctx());
}

async function viaOneByOne(f: Fixture): Promise<void> {
  for (const id of f.inboxIds) await processNotification(h.db, id, ctx());
}

const DB_TIMES = new Set([
  'createdAt',
  'updatedAt',
  'lastCheckedAt',
  'processedAt',
  'receivedAt',
  'lastReceivedAt',
  'closedAt',
  'acceptedAt',
  'succeededAt',
  'nextQueryAt',
]);

/** Every row of the order's world, ids and database-set times replaced by placeholders. */
async function snapshot(f: Fixture) {
  const db = h.db;
  const [order] = await db.select().from(orders).where(eq(orders.id, f.orderId));
  // Attempts in the order the fixture made them (their out_trade_nos come first in f.ids).
  const rank = (a: { outTradeNo: string }) => f.ids.indexOf(a.outTradeNo);
  const attempts = (await db.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, f.orderId))).sort((x, y) => rank(x) - rank(y));
  const attemptIds = attempts.map((a) => a.id);
  const rows = {
    order,
    attempts,
    events: await db.select().from(orderEvents).where(eq(orderEvents.orderId, f.orderId)).orderBy(orderEvents.id),
    outbox: await db.select().from(outboxEvents).where(eq(outboxEvents.orderId, f.orderId)).orderBy(outboxEvents.id),
    alerts: await db.select().from(alerts).where(eq(alerts.orderId, f.orderId)).orderBy(alerts.id),
    refunds: await db.select().from(refunds).where(eq(refunds.orderId, f.orderId)),
    inbox: await db.select().from(wechatpayNotifications).where(inArray(wechatpayNotifications.id, f.inboxIds)),
    jobs: await db.$client.unsafe<{ name: string; data: unknown; state: string }[]>(
      `select name, data, state from pgboss.job where data->>'attemptId' = any($1) or data->>'orderId' = $2 or data->>'refundId' = any($3) order by name, data::text`,
      [attemptIds, f.orderId, (await db.select({ id: refunds.id }).from(refunds).where(eq(refunds.orderId, f.orderId))).map((r) => r.id)],
    ),
  };
  // Text ids are replaced wherever they appear; numeric ones (serial ids) by their keys.
  const ids = [f.orderId, order!.token, ...attemptIds, ...rows.refunds.map((r) => r.id), ...f.ids.filter((id) => !/^\d{1,12}$/.test(id))];
  let text = JSON.stringify(rows, (key, value) =>
    DB_TIMES.has(key) ? (value === null ? null : '<time>') : key === 'id' || key === 'inboxId' || key === 'notificationId' ? '<id>' : value,
  );
  // Longest first, so an id that contains another (LR + out_trade_no) is replaced whole.
  for (const [i, id] of [...new Set(ids)].sort((a, b) => b.length - a.length).entries()) text = text.split(id).join(`<id${i}>`);
  const normalised = JSON.parse(text);
  // Jobs have no order of their own: sort them by their normalised content.
  normalised.jobs.sort((x: unknown, y: unknown) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  return normalised;
}

describe.each(Object.keys(SCENES))('%s', (name) => {
  it('writes the same rows through the batch path and one by one', async () => {
    const scene = SCENES[name]!;
    const a = await scene();
    await viaBatch(a);
    const b = await scene();
    await viaOneByOne(b);
    const [batch, single] = [await snapshot(a), await snapshot(b)];
    expect(batch).toEqual(single);
    // And processing is finished either way: the inbox rows carry an outcome.
    expect(batch.inbox.every((r: { outcome: string | null }) => r.outcome !== null)).toBe(true);
  });
});

it('the common payment is taken by the batch path itself (not left to the one-by-one path)', async () => {
  const f = await SCENES.paid!();
  const done = await processNotificationBatch(h.db, f.inboxIds, ctx());
  expect([...done]).toEqual(f.inboxIds);
});

it('a conflicting second payment freezes the order for review with an alert and a timeline event', async () => {
  const f = await SCENES['conflict (another transaction id for a paid attempt)']!();
  await viaBatch(f);
  const [order] = await h.db.select().from(orders).where(eq(orders.id, f.orderId));
  expect(order).toMatchObject({ status: 'review', reviewReason: 'transaction_conflict' });
  const events = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, f.orderId));
  expect(events.map((e) => e.type)).toContain('payment.conflict');
  const raised = await h.db.select().from(alerts).where(eq(alerts.orderId, f.orderId));
  expect(raised.map((a) => a.kind)).toEqual(['payment_conflict']);
  const [inbox] = await h.db.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.id, f.inboxIds[0]!));
  expect(inbox!.outcome).toBe('conflict');
});
