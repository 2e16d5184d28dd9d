// Processing stored notifications (DESIGN §2.4). Idempotent: a processed inbox row is skipped, and the
// domain functions are compare-and-set, so a retried or duplicated job changes nothing twice.
//
// Two ways in, one decision: a whole batch of payment notifications is read in one statement, each row
// classified by classifyPayment and the common ones (first payment of a waiting order, nothing else open)
// paid together by markPaid; every other row — duplicates, late and double payments, mismatches,
// conflicts, refunds — goes one by one through processNotification. Both write the same rows
// (tests/integration/payment-paths-equivalence.test.ts).
import { and, eq, isNull } from 'drizzle-orm';
import { rawTransaction, type Db, type DbOrTx } from '@/db/client';
import { wechatpayNotifications } from '@/db/schema';
import { parseRefundResource, parseTransactionResource } from '@/server/wechatpay/notification';
import { applyPaymentResult, classifyPayment, type PaymentContext } from './payment-result';
import { applyRefundStatus } from '@/server/refunds/status';
import { markPaid, type PaidFact } from '@/server/orders/state';

/** One stored notification through the domain functions. Returns its outcome (also kept on the row). */
export async function processNotification(db: Db, inboxId: number, ctx: PaymentContext): Promise<string> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.id, inboxId)).for('update');
    if (!row) throw new Error(`inbox row ${inboxId} not found`);
    if (row.processedAt) return row.outcome ?? 'already_processed';

    let outcome: string;
    if (row.eventType === 'TRANSACTION.SUCCESS') {
      const parsed = parseTransactionResource(row.resource);
      outcome = parsed.success ? (await applyPaymentResult(tx, parsed.data, ctx, { inboxId: row.id })).outcome : 'malformed_resource';
    } else if (row.eventType.startsWith('REFUND.')) {
      const parsed = parseRefundResource(row.resource);
      if (!parsed.success || !parsed.data.out_refund_no || !parsed.data.refund_status) outcome = 'malformed_resource';
      else {
        const updated = await applyRefundStatus(
          tx,
          parsed.data.out_refund_no,
          { status: parsed.data.refund_status, refundId: parsed.data.refund_id },
          'notify',
        );
        outcome = updated ? `refund_${updated.status}` : 'duplicate';
      }
    } else {
      outcome = `unhandled_event:${row.eventType}`;
    }
    // markPaid marks the row itself when it pays the order; every other outcome is recorded here.
    await tx
      .update(wechatpayNotifications)
      .set({ processedAt: new Date(), outcome })
      .where(and(eq(wechatpayNotifications.id, row.id), isNull(wechatpayNotifications.processedAt)));
    return outcome;
  });
}

interface BatchRow {
  inbox_id: string;
  resource: unknown;
  processed_at: string | null;
  attempt_id: string;
  attempt_status: 'created' | 'awaiting_payment' | 'paid' | 'closed';
  out_trade_no: string;
  amount_fen: number;
  attempt_transaction_id: string | null;
  order_id: string;
  order_status: 'awaiting_payment' | 'paid' | 'closed' | 'refunded' | 'partially_refunded' | 'review';
  other_paid: boolean;
  other_open: boolean;
}

// The subjects of a batch of payment notifications, locked: inbox row, attempt, order, and whether
// another attempt of the order is paid or open. Planned at every run (not prepared) with the ids as an
// array literal: the planner sees the batch's true size and walks primary keys (docs/benchmarks.md). The
// order's other attempts are read once, through the order index: an EXISTS on the open statuses took the
// partial index of open attempts and walked all of them for every row (docs/benchmarks.md, stop 26).
const LOAD_BATCH = `
  select n.id as inbox_id, n.resource, n.processed_at,
         a.id as attempt_id, a.status as attempt_status, a.out_trade_no, a.amount_fen, a.transaction_id as attempt_transaction_id,
         o.id as order_id, o.status as order_status,
         coalesce(x.other_paid, false) as other_paid, coalesce(x.other_open, false) as other_open
  from wechatpay_notifications n
  join payment_attempts a on a.out_trade_no = n.resource->>'out_trade_no'
  join orders o on o.id = a.order_id
  left join lateral (
    select bool_or(p.status = 'paid' and p.late_payment is null) as other_paid,
           bool_or(p.status in ('created', 'awaiting_payment')) as other_open
    from payment_attempts p where p.order_id = o.id and p.id <> a.id) x on true
  where n.id = any($1::text::bigint[]) and n.event_type = 'TRANSACTION.SUCCESS'
  for update of n, a, o`;

/**
 * The common case for a whole batch of inbox rows, in one transaction: returns the inbox ids it paid.
 * A row is taken here only when classifyPayment says "paid, not late" and nothing else of its order
 * needs doing (no other open attempt to close); every other row is left untouched for processNotification.
 */
export async function processNotificationBatch(db: DbOrTx, inboxIds: readonly number[], ctx: PaymentContext): Promise<Set<number>> {
  if (inboxIds.length === 0) return new Set();
  return db.transaction(async (tx) => {
    const ids = `{${inboxIds.map((id) => Math.trunc(Number(id))).join(',')}}`;
    const rows = await rawTransaction(tx).unsafe<BatchRow[]>(LOAD_BATCH, [ids], { prepare: false });
    const facts: PaidFact[] = [];
    const attempts = new Set<string>();
    for (const row of rows) {
      if (row.processed_at || row.other_open || attempts.has(row.attempt_id)) continue; // one notification per attempt here
      const t = parseTransactionResource(row.resource);
      if (!t.success) continue;
      const subject = {
        attempt: {
          id: row.attempt_id,
          status: row.attempt_status,
          outTradeNo: row.out_trade_no,
          amountFen: row.amount_fen,
          transactionId: row.attempt_transaction_id,
        },
        order: { id: row.order_id, status: row.order_status },
        otherAttemptPaid: row.other_paid,
      };
      const verdict = classifyPayment(t.data, subject, ctx);
      if (verdict.kind !== 'paid' || verdict.late) continue;
      attempts.add(row.attempt_id);
      facts.push({
        attemptId: row.attempt_id,
        orderId: row.order_id,
        outTradeNo: row.out_trade_no,
        amountFen: row.amount_fen,
        transactionId: t.data.transaction_id!,
        paidAt: verdict.paidAt,
        source: ctx.source,
        late: null,
        inboxId: Number(row.inbox_id),
      });
    }
    const moved = await markPaid(tx, facts);
    return new Set(facts.filter((f) => moved.orders.has(f.orderId)).map((f) => f.inboxId!));
  });
}
