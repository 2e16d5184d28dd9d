// Processes one stored notification (DESIGN §2.4). Idempotent: a processed inbox row is skipped, and
// applyPaymentResult itself is compare-and-set, so a retried or duplicated job changes nothing twice.
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { wechatpayNotifications } from '@/db/schema';
import { applyPaymentResult, type Expected } from '@/server/payments/payment-result';
import { Transaction } from '@/server/wechatpay/schemas';
import type { Payload } from '../catalogue';
import type { QUEUE } from '../catalogue';

export async function processNotification(
  db: Db,
  payload: Payload<typeof QUEUE.processNotification>,
  expected: Expected,
): Promise<string> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(wechatpayNotifications)
      .where(eq(wechatpayNotifications.id, payload.inboxId))
      .for('update');
    if (!row) throw new Error(`inbox row ${payload.inboxId} not found`);
    if (row.processedAt) return row.outcome ?? 'already_processed';

    let outcome: string;
    if (row.eventType === 'TRANSACTION.SUCCESS') {
      const parsed = Transaction.safeParse(row.resource);
      if (!parsed.success) outcome = 'malformed_resource';
      else outcome = (await applyPaymentResult(tx, { transaction: parsed.data, source: 'notify', expected })).outcome;
    } else {
      // Refund events are stored now and processed once refunds land (refund issue).
      outcome = `unhandled_event:${row.eventType}`;
    }
    await tx
      .update(wechatpayNotifications)
      .set({ processedAt: new Date(), outcome })
      .where(and(eq(wechatpayNotifications.id, row.id), isNull(wechatpayNotifications.processedAt)));
    return outcome;
  });
}
