// Processes one stored notification (DESIGN §2.4). Idempotent: a processed inbox row is skipped, and the
// domain functions are compare-and-set, so a retried or duplicated job changes nothing twice.
import { and, eq, isNull } from 'drizzle-orm';
import { clients, type Db } from '@/db/client';
import { wechatpayNotifications } from '@/db/schema';
import type { PaymentContext } from '@/server/payments/payment-result';
import { applyPaymentResult } from '@/server/payments/payment-result';
import { markPaidFastBatch, tryMarkPaidFast } from '@/server/payments/paid-fast-path';
import { applyRefundStatus } from '@/server/payments/refunds';
import { RefundNotificationResource, Transaction } from '@/server/wechatpay/schemas';
import type { Payload, QUEUE } from '../catalogue';

const NOT_COMMON = Symbol('not the common case');

export async function processNotification(db: Db, payload: Payload<typeof QUEUE.processNotification>, ctx: PaymentContext): Promise<string> {
  // Most notifications are a first, matching payment of a waiting order: two prepared statements.
  const fast = await clients()
    .sql.begin(async (sql) => (await tryMarkPaidFast(sql, payload.inboxId, ctx)) ?? Promise.reject(NOT_COMMON))
    .catch((err) => {
      if (err !== NOT_COMMON) console.warn(`[worker] fast path skipped for inbox ${payload.inboxId}: ${err instanceof Error ? err.message : err}`);
      return null;
    });
  if (fast) return fast;
  return processGeneral(db, payload, ctx);
}

/** Everything else — duplicates, late and double payments, mismatches, refunds — through the domain functions. */
async function processGeneral(db: Db, payload: Payload<typeof QUEUE.processNotification>, ctx: PaymentContext): Promise<string> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.id, payload.inboxId)).for('update');
    if (!row) throw new Error(`inbox row ${payload.inboxId} not found`);
    if (row.processedAt) return row.outcome ?? 'already_processed';

    let outcome: string;
    if (row.eventType === 'TRANSACTION.SUCCESS') {
      const parsed = Transaction.safeParse(row.resource);
      outcome = parsed.success ? (await applyPaymentResult(tx, parsed.data, ctx)).outcome : 'malformed_resource';
    } else if (row.eventType.startsWith('REFUND.')) {
      const parsed = RefundNotificationResource.safeParse(row.resource);
      if (!parsed.success || !parsed.data.out_refund_no || !parsed.data.refund_status) outcome = 'malformed_resource';
      else {
        const updated = await applyRefundStatus(tx, parsed.data.out_refund_no, { status: parsed.data.refund_status, refundId: parsed.data.refund_id }, 'notify');
        outcome = updated ? `refund_${updated.status}` : 'duplicate';
      }
    } else {
      outcome = `unhandled_event:${row.eventType}`;
    }
    await tx
      .update(wechatpayNotifications)
      .set({ processedAt: new Date(), outcome })
      .where(and(eq(wechatpayNotifications.id, row.id), isNull(wechatpayNotifications.processedAt)));
    return outcome;
  });
}

/**
 * The common case for a whole batch of notifications in one transaction (two statements). Returns the
 * inbox ids it marked paid; the rest go through processNotification one by one. Never throws.
 */
export async function markCommonPaymentsPaid(inboxIds: number[], ctx: PaymentContext): Promise<Set<number>> {
  if (inboxIds.length < 2) return new Set();
  return clients()
    .sql.begin((sql) => markPaidFastBatch(sql, inboxIds, ctx))
    .catch((err) => {
      console.warn(`[worker] batch fast path skipped: ${err instanceof Error ? err.message : err}`);
      return new Set<number>();
    });
}
