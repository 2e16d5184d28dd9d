// State machines of orders and payment attempts, enforced in SQL: every change is a compare-and-set
// `UPDATE ... WHERE status IN (<states allowed to move here>)`, so two paths racing on the same row
// (notify and active query, say) cannot both apply a transition. One function per aggregate.
import { and, eq, inArray, type SQL } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { orderEvents, orders, outboxEvents, paymentAttempts } from '@/db/schema';
import { publishOrderStatus } from '@/server/live/publish';

export type OrderStatus = (typeof orders.$inferSelect)['status'];
export type AttemptStatus = (typeof paymentAttempts.$inferSelect)['status'];
export type Source = (typeof orderEvents.$inferInsert)['source'];

/** Where each order status may move. Terminal states (refunded) have no way out; nothing goes back to awaiting_payment. */
export const ORDER_TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  awaiting_payment: ['paid', 'closed', 'review'],
  paid: ['partially_refunded', 'refunded'],
  partially_refunded: ['partially_refunded', 'refunded'],
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
const OUTBOX_TOPIC: Partial<Record<OrderStatus, string>> = {
  paid: 'order.paid',
  closed: 'order.closed',
  refunded: 'order.refunded',
  partially_refunded: 'order.refunded',
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
  const allowed = (t.from ?? sourcesOf(ORDER_TRANSITIONS, t.to)).filter((s) => ORDER_TRANSITIONS[s].includes(t.to));
  if (!allowed.length) return false;
  const moved = await tx
    .update(orders)
    .set({ ...t.patch, status: t.to, updatedAt: new Date() })
    .where(and(eq(orders.id, t.orderId), inArray(orders.status, allowed)))
    .returning({ id: orders.id, amountFen: orders.amountFen, transactionId: orders.transactionId });
  if (!moved.length) return false;
  const data = t.data ?? {};
  await tx.insert(orderEvents).values({ orderId: t.orderId, attemptId: t.attemptId ?? null, type: t.event, source: t.source, data });
  const topic = OUTBOX_TOPIC[t.to];
  if (topic) {
    await tx
      .insert(outboxEvents)
      .values({
        topic,
        orderId: t.orderId,
        dedupeKey: t.outboxKey ?? `${topic}:${t.orderId}`,
        payload: { orderId: t.orderId, status: t.to, amountFen: moved[0].amountFen, transactionId: moved[0].transactionId, source: t.source, ...data },
      })
      .onConflictDoNothing();
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
