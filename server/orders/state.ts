// State machines of orders and payment attempts, enforced in SQL: every change is a compare-and-set
// `UPDATE ... WHERE status IN (<states allowed to move here>)`, so two paths racing on the same row
// (notify and active query, say) cannot both apply a transition. One function per aggregate.
import { and, eq, inArray, type SQL } from 'drizzle-orm';
import { rawTransaction, type Tx } from '@/db/client';
import { orderEvents, orders, paymentAttempts } from '@/db/schema';
import type { EventType } from '@/server/outbox/events';
import { writeOutboxEvent } from '@/server/outbox/write';
import { ORDER_STATUS_CHANNEL, publishOrderStatus } from '@/server/live/publish';

export type OrderStatus = (typeof orders.$inferSelect)['status'];
export type AttemptStatus = (typeof paymentAttempts.$inferSelect)['status'];
export type Source = (typeof orderEvents.$inferInsert)['source'];

/** Where each order status may move. Terminal states (refunded) have no way out; nothing goes back to awaiting_payment. */
export const ORDER_TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  awaiting_payment: ['paid', 'closed', 'review'],
  // review: a second, validly signed payment with another transaction id (an anomaly for a human).
  paid: ['partially_refunded', 'refunded', 'review'],
  partially_refunded: ['partially_refunded', 'refunded', 'review'],
  // A late payment on a closed order under the review policy.
  closed: ['review'],
  // A human resolves a review (admin issue): accept as paid, close, or refund.
  review: ['paid', 'closed', 'refunded'],
  refunded: [],
};

/** Attempts: `closed → paid` exists only to record a late payment truthfully (WeChat did take the money). */
export const ATTEMPT_TRANSITIONS: Record<AttemptStatus, readonly AttemptStatus[]> = {
  created: ['awaiting_payment', 'paid', 'closed'],
  awaiting_payment: ['paid', 'closed'],
  closed: ['paid'],
  paid: [],
};

export const OPEN_ATTEMPT_STATUSES = ['created', 'awaiting_payment'] as const satisfies readonly AttemptStatus[];

function sourcesOf<S extends string>(table: Record<S, readonly S[]>, to: S): S[] {
  return (Object.keys(table) as S[]).filter((from) => table[from].includes(to));
}

/** Outbox topics written with the order transition that causes them (consumers come in a later issue). */
// The business event an order's move is (refunds are the refund domain's events, not the order's).
const OUTBOX_TOPIC: Partial<Record<OrderStatus, EventType>> = {
  paid: 'payment.succeeded',
  closed: 'payment.closed',
  review: 'payment.review',
};

export interface OrderTransition {
  orderId: string;
  to: OrderStatus;
  source: Source;
  /** Timeline event type, e.g. 'order.paid'. */
  event: string;
  attemptId?: string | null;
  data?: Record<string, unknown>;
  /** Extra columns to set with the status (paid_at, transaction_id, review_reason...). */
  patch?: Partial<typeof orders.$inferInsert>;
  /** Restrict further than the transition table (e.g. "only from awaiting_payment"). */
  from?: readonly OrderStatus[];
  /** Makes the outbox event unique per cause (e.g. a refund id); defaults to order + topic. */
  outboxKey?: string;
}

/**
 * Moves an order, or does nothing if it is not in a state that may move there. On success, in the same
 * transaction: a timeline event, an outbox event, and a live-status notification. Returns whether it moved.
 */
export async function transitionOrder(tx: Tx, t: OrderTransition): Promise<boolean> {
  if (t.to === 'paid') throw new Error('an order becomes paid through markPaid only');
  const allowed = (t.from ?? sourcesOf(ORDER_TRANSITIONS, t.to)).filter((s) => ORDER_TRANSITIONS[s].includes(t.to));
  if (!allowed.length) return false;
  const moved = await tx
    .update(orders)
    .set({ ...t.patch, status: t.to, updatedAt: new Date() })
    .where(and(eq(orders.id, t.orderId), inArray(orders.status, allowed)))
    .returning({ id: orders.id, amountFen: orders.amountFen, transactionId: orders.transactionId });
  const [row] = moved;
  if (!row) return false;
  const data = t.data ?? {};
  await tx.insert(orderEvents).values({ orderId: t.orderId, attemptId: t.attemptId ?? null, type: t.event, source: t.source, data });
  const topic = OUTBOX_TOPIC[t.to];
  if (topic) {
    await writeOutboxEvent(tx, {
      topic,
      orderId: t.orderId,
      dedupeKey: t.outboxKey ?? `${topic}:${t.orderId}`,
      payload: { orderId: t.orderId, status: t.to, amountFen: row.amountFen, transactionId: row.transactionId, source: t.source, ...data },
    });
  }
  await publishOrderStatus(tx, { orderId: t.orderId, status: t.to });
  return true;
}

/** Moves an attempt by compare-and-set. Returns the updated row, or null if it was not in an allowed state. */
export async function transitionAttempt(
  tx: Tx,
  attemptId: string,
  to: AttemptStatus,
  patch: Partial<typeof paymentAttempts.$inferInsert> = {},
  extraWhere?: SQL,
) {
  const allowed = sourcesOf(ATTEMPT_TRANSITIONS, to);
  const [row] = await tx
    .update(paymentAttempts)
    .set({ ...patch, status: to, updatedAt: new Date() })
    .where(and(eq(paymentAttempts.id, attemptId), inArray(paymentAttempts.status, allowed), extraWhere))
    .returning();
  return row ?? null;
}

/** Appends to an order's timeline without changing its state. */
export async function recordEvent(
  tx: Tx,
  e: { orderId: string; attemptId?: string | null; type: string; source: Source; data?: Record<string, unknown> },
): Promise<void> {
  await tx.insert(orderEvents).values({ orderId: e.orderId, attemptId: e.attemptId ?? null, type: e.type, source: e.source, data: e.data ?? {} });
}

/** One attempt found paid: what markPaid writes. */
export interface PaidFact {
  attemptId: string;
  orderId: string;
  outTradeNo: string;
  amountFen: number;
  transactionId: string;
  paidAt: Date;
  source: Source;
  /** Set for a late or double payment: the attempt records the money, the order does not move. */
  late: 'after_close' | 'double' | null;
  /** The inbox row that told us, marked processed with outcome 'paid' when the order moved. */
  inboxId?: number | null;
}

const quoted = (states: readonly string[]) => states.map((s) => `'${s}'`).join(', ');
// From the transition tables: the attempt from any state that may become paid; the order only from
// awaiting_payment (a review is resolved by a human, not by a payment arriving).
const ATTEMPT_PAYABLE = quoted(sourcesOf(ATTEMPT_TRANSITIONS, 'paid'));
const ORDER_PAYABLE = quoted(sourcesOf(ORDER_TRANSITIONS, 'paid').filter((s) => s === 'awaiting_payment'));

const MARK_PAID = `
  with input as (
    select t.* from generate_series(0, jsonb_array_length($1::text::jsonb) - 1) as g(k)
    cross join lateral jsonb_to_record($1::text::jsonb -> g.k)
      as t(attempt_id uuid, order_id uuid, transaction_id text, paid_at timestamptz, source event_source, late text, inbox_id bigint, data jsonb)
  ), att as (
    update payment_attempts a
    set status = 'paid', transaction_id = i.transaction_id, paid_at = i.paid_at, paid_via = i.source, late_payment = i.late,
        last_checked_at = now(), updated_at = now()
    from input i where a.id = i.attempt_id and a.status in (${ATTEMPT_PAYABLE})
    returning a.id
  ), ord as (
    update orders o set status = 'paid', transaction_id = i.transaction_id, paid_at = i.paid_at, paid_via = i.source, updated_at = now()
    from input i where o.id = i.order_id and i.late is null and o.status in (${ORDER_PAYABLE}) and i.attempt_id in (select id from att)
    returning o.id, o.amount_fen
  ), moved as (
    select i.*, ord.amount_fen from input i join ord on ord.id = i.order_id
  ), ev as (
    insert into order_events (order_id, attempt_id, type, source, data)
    select m.order_id, m.attempt_id, 'order.paid', m.source, m.data from moved m
  ), outbox as (
    insert into outbox_events (topic, order_id, dedupe_key, payload)
    select $2::text, m.order_id, $2::text || ':' || m.order_id::text,
           jsonb_build_object('orderId', m.order_id, 'status', 'paid', 'amountFen', m.amount_fen, 'transactionId', m.transaction_id, 'source', m.source) || m.data
    from moved m
    on conflict (dedupe_key) do nothing
  ), inbox as (
    update wechatpay_notifications n set processed_at = now(), outcome = 'paid'
    from moved m where n.id = m.inbox_id
  ), notified as (
    select pg_notify($3::text, json_build_object('orderId', m.order_id, 'status', 'paid')::text) from moved m
  )
  select att.id as attempt_id, exists (select 1 from moved m where m.attempt_id = att.id) as order_paid
  from att where (select count(*) from notified) >= 0`;

/**
 * The one writer of "an attempt / an order becomes paid", for one fact or a whole batch, in one statement:
 * the attempt (compare-and-set), the order (compare-and-set, unless the payment is late), the order's
 * timeline event, the outbox event, the inbox row, and the live-status notification. Every path that
 * learns a payment (notify batch or one by one, active query, the shopper, the bill) comes through here.
 * Returns the attempts that moved to paid and the orders that moved to paid.
 */
export async function markPaid(tx: Tx, facts: readonly PaidFact[]): Promise<{ attempts: Set<string>; orders: Set<string> }> {
  if (facts.length === 0) return { attempts: new Set(), orders: new Set() };
  const input = JSON.stringify(
    facts.map((f) => ({
      attempt_id: f.attemptId,
      order_id: f.orderId,
      transaction_id: f.transactionId,
      paid_at: f.paidAt.toISOString(),
      source: f.source,
      late: f.late,
      inbox_id: f.inboxId ?? null,
      // The timeline's and the outbox's data for "order.paid", in one place.
      data: { transactionId: f.transactionId, amountFen: f.amountFen, outTradeNo: f.outTradeNo },
    })),
  );
  const topic = OUTBOX_TOPIC.paid!;
  // The batch's rows travel as one JSON text read element by element over generate_series, and the
  // statement is planned at every run (not prepared): the planner then sees the batch's true size and
  // walks primary keys, whatever the tables held when a connection first ran it (docs/benchmarks.md).
  const rows = await rawTransaction(tx).unsafe<{ attempt_id: string; order_paid: boolean }[]>(MARK_PAID, [input, topic, ORDER_STATUS_CHANNEL], {
    prepare: false,
  });
  return {
    attempts: new Set(rows.map((r) => r.attempt_id)),
    orders: new Set(facts.filter((f) => rows.some((r) => r.order_paid && r.attempt_id === f.attemptId)).map((f) => f.orderId)),
  };
}
