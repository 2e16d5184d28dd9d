// The one writer of a refund's status and of what each status writes: the timeline event, the outbox event
// (refund.succeeded / refund.closed / refund.abnormal), the alert for a human, and the order's refunded
// amount and status, derived from the sum of its succeeded refunds through transitionOrder.
import { and, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { alerts, orders, refunds } from '@/db/schema';
import { writeOutboxEvent } from '@/server/outbox/write';
import { recordEvent, transitionOrder, type Source } from '@/server/orders/state';
import { enqueue } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { QUEUE } from '@/server/queue/catalogue';
import type { RefundRow, RefundStatus } from './rules';
import { nextQueryAt } from './schedule';

/** An ABNORMAL refund someone handled: apply-abnormal-refund was accepted, and WeChat is paying it out. */
const handledAbnormal = and(eq(refunds.status, 'abnormal'), sql`${refunds.abnormalResolution} is not null`);
/** Refunds the worker still drives: to send (requested) or to query (PROCESSING, or ABNORMAL once handled). */
export const drivenByWorker = or(inArray(refunds.status, ['requested', 'processing']), handledAbnormal);

type WechatRefundStatus = 'SUCCESS' | 'CLOSED' | 'PROCESSING' | 'ABNORMAL' | (string & {});

const STATUS_MAP: Record<string, RefundStatus> = {
  SUCCESS: 'succeeded',
  CLOSED: 'closed',
  PROCESSING: 'processing',
  ABNORMAL: 'abnormal',
};

export function fromWechatStatus(status: string): RefundStatus | null {
  return STATUS_MAP[status] ?? null;
}

/** Kinds whose money is the order's payment (a late payment's refund gives back another payment). */
const ORDER_KINDS = ['merchant', 'external'];

/**
 * Records WeChat's word on a refund (create answer, query or REFUND.* notification). SUCCESS and CLOSED are
 * final; ABNORMAL is left only by our apply-abnormal-refund (or the merchant platform), so a late ABNORMAL
 * notification cannot undo a handled one. The timeline gets one event per real change. Returns the row
 * when it moved, else null.
 */
export async function applyRefundStatus(
  tx: Tx,
  outRefundNo: string,
  wechat: { status: WechatRefundStatus; refundId?: string | null },
  source: Source,
  now: Date = new Date(),
): Promise<RefundRow | null> {
  const next = fromWechatStatus(wechat.status);
  if (!next) return null;
  const where =
    next === 'processing'
      ? or(eq(refunds.status, 'requested'), handledAbnormal)
      : next === 'abnormal'
        ? and(inArray(refunds.status, ['requested', 'processing']), isNull(refunds.abnormalResolution))
        : inArray(refunds.status, ['requested', 'processing', 'abnormal']);
  const [row] = await tx
    .update(refunds)
    .set({
      status: next,
      refundId: wechat.refundId ?? undefined,
      lastError: null,
      acceptedAt: sql`coalesce(${refunds.acceptedAt}, ${now.toISOString()}::timestamptz)`,
      succeededAt: next === 'succeeded' ? now : undefined,
      nextQueryAt: next === 'processing' ? undefined : null,
      updatedAt: now,
    })
    .where(and(eq(refunds.outRefundNo, outRefundNo), where))
    .returning();
  if (!row) return null;
  await recordEvent(tx, {
    orderId: row.orderId,
    attemptId: row.attemptId,
    type: `refund.${next}`,
    source,
    data: { refundRowId: row.id, outRefundNo, refundId: row.refundId, amountFen: row.amountFen },
  });
  if (next === 'succeeded' || next === 'closed' || next === 'abnormal') {
    await writeOutboxEvent(tx, {
      topic: `refund.${next}`,
      orderId: row.orderId,
      dedupeKey: `refund.${next}:${row.id}`,
      payload: refundPayload(row, source),
    });
  }
  if (next === 'abnormal' || next === 'closed') {
    await tx.insert(alerts).values({
      kind: `refund_${next}`,
      orderId: row.orderId,
      message:
        next === 'abnormal'
          ? `Refund ${outRefundNo} is ABNORMAL at WeChat (the payer's card is cancelled or frozen): pay it to a bank account or handle it in the merchant platform`
          : `Refund ${outRefundNo} was CLOSED by WeChat (no balance for 7 days): top up, then re-apply it with a new number`,
      data: { outRefundNo, refundRowId: row.id },
    });
  }
  if (next === 'succeeded') await settleOrderRefunds(tx, row.orderId, source);
  return row;
}

/** The refund as business systems see it (outbox payload, version 1). */
export function refundPayload(row: RefundRow, source: Source): Record<string, unknown> {
  return {
    refundRowId: row.id,
    orderId: row.orderId,
    outRefundNo: row.outRefundNo,
    refundId: row.refundId,
    amountFen: row.amountFen,
    status: row.status,
    kind: row.kind,
    initiatedBy: row.initiatedBy,
    replacesRefundId: row.replacesRefundId,
    source,
  };
}

/**
 * The order's refunded amount is the sum of its succeeded refunds (of its own payment), and its status
 * follows: all of it → refunded, some → partially_refunded. Through transitionOrder, so the timeline and
 * the live status move with it.
 */
export async function settleOrderRefunds(tx: Tx, orderId: string, source: Source): Promise<void> {
  const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update');
  if (!order) return;
  const [sum] = await tx
    .select({ fen: sql<number>`coalesce(sum(${refunds.amountFen}), 0)::int` })
    .from(refunds)
    .where(and(eq(refunds.orderId, orderId), eq(refunds.status, 'succeeded'), inArray(refunds.kind, ORDER_KINDS)));
  const refundedFen = sum?.fen ?? 0;
  if (refundedFen === order.refundedFen || refundedFen === 0) return;
  const to = refundedFen >= order.amountFen ? 'refunded' : 'partially_refunded';
  const moved = await transitionOrder(tx, {
    orderId,
    to,
    source,
    event: `order.${to}`,
    data: { refundedFen, amountFen: order.amountFen },
    patch: { refundedFen },
  });
  // An order in a state refunds do not move (a review, say) still keeps the true refunded amount.
  if (!moved)
    await tx
      .update(orders)
      .set({ refundedFen, updatedAt: new Date() })
      .where(and(eq(orders.id, orderId), ne(orders.refundedFen, refundedFen)));
}

/**
 * Schedules the next active query of a PROCESSING refund, once per step: the compare-and-set on query_step
 * means a duplicate job (sweep, retry, a second worker) cannot start a second chain.
 */
export async function scheduleNextQuery(
  tx: Tx,
  row: Pick<RefundRow, 'id' | 'outRefundNo' | 'queryStep'>,
  from: Date,
  scale: number,
  /** Names a new chain of queries (after apply-abnormal-refund) so its job ids differ from the first's. */
  chain = 'query',
): Promise<Date | null> {
  const step = row.queryStep;
  const at = nextQueryAt(from, step, scale);
  const [moved] = await tx
    .update(refunds)
    .set({ nextQueryAt: at, queryStep: step + 1, updatedAt: new Date() })
    .where(and(eq(refunds.id, row.id), eq(refunds.queryStep, step)))
    .returning({ id: refunds.id });
  if (!moved) return null;
  await enqueue(tx, QUEUE.executeRefund, { version: 1, refundId: row.id }, { id: causeId('refund', row.outRefundNo, chain, step), startAfter: at });
  return at;
}
