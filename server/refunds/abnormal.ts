// An ABNORMAL refund (the payer's card was cancelled or frozen) is paid out with apply-abnormal-refund — to
// the payer's debit card (bank account and name encrypted with WeChat Pay's public key, as the API requires;
// never stored, never logged) or to the merchant's settlement account — or handled by the merchant in
// WeChat's merchant platform. Either way it is then queried on the usual schedule until WeChat says SUCCESS.
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { refunds } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import type { Gateway } from '@/server/wechatpay/gateway';
import { recordEvent } from '@/server/orders/state';
import { WechatPayApiError, WechatPayRequestError } from '@/server/wechatpay/errors';
import type { Refund } from '@/server/wechatpay/schemas';
import { RefundError } from './errors';
import type { RefundDeps } from './request';
import type { RefundRow } from './rules';
import { applyRefundStatus, scheduleNextQuery } from './status';

export type AbnormalResolution =
  | { type: 'USER_BANK_CARD'; bankType: string; bankAccount: string; realName: string }
  | { type: 'MERCHANT_BANK_CARD' }
  | { type: 'MERCHANT_PLATFORM' };

const mask = (account: string) => `****${account.slice(-4)}`;

/**
 * Handles an ABNORMAL refund. The WeChat call (not idempotent: WeChat refuses a repeat once accepted) runs
 * outside any transaction, after a compare-and-set claims the row, so two clicks cannot both send it.
 */
export async function resolveAbnormalRefund(
  db: Db,
  deps: RefundDeps & { gateway: Gateway },
  input: { refundId: string; actor: AuditActor; resolution: AbnormalResolution },
): Promise<RefundRow> {
  const now = deps.clock.now();
  const r = input.resolution;
  const [claimed] = await db
    .update(refunds)
    .set({ abnormalResolution: r.type, updatedAt: now })
    .where(and(eq(refunds.id, input.refundId), eq(refunds.status, 'abnormal'), isNull(refunds.abnormalResolution)))
    .returning();
  if (!claimed) {
    const [row] = await db.select().from(refunds).where(eq(refunds.id, input.refundId));
    if (!row) throw new RefundError('REFUND_NOT_FOUND', 'No such refund.');
    throw new RefundError('NOT_ABNORMAL', row.status === 'abnormal' ? 'This refund is already being handled.' : `This refund is ${row.status}, not abnormal.`);
  }
  let answer: Refund | null = null;
  if (r.type !== 'MERCHANT_PLATFORM') {
    try {
      if (!claimed.refundId) throw new RefundError('NOT_ABNORMAL', 'WeChat has not given this refund an id yet.');
      const encryption = deps.gateway.sensitiveEncryption();
      answer = await deps.gateway.client.applyAbnormalRefund(
        r.type === 'USER_BANK_CARD'
          ? {
              refund_id: claimed.refundId,
              out_refund_no: claimed.outRefundNo,
              type: r.type,
              bank_type: r.bankType as never,
              bank_account: r.bankAccount,
              real_name: r.realName,
            }
          : { refund_id: claimed.refundId, out_refund_no: claimed.outRefundNo, type: r.type },
        encryption,
      );
    } catch (err) {
      // Not sent, or refused: the refund is still ABNORMAL and may be handled again.
      await db
        .update(refunds)
        .set({ abnormalResolution: null, lastError: err instanceof Error ? err.message.slice(0, 500) : 'error' })
        .where(eq(refunds.id, claimed.id));
      // Never the values themselves: the message names the field only.
      if (err instanceof WechatPayRequestError)
        throw new RefundError('INVALID_BANK_DETAILS', 'Check the bank, the card number (12–30 digits) and the name.', { cause: err });
      if (err instanceof WechatPayApiError) throw new RefundError('WECHAT_REFUSED', `WeChat Pay refused: ${err.wechatMessage || err.code}`, { cause: err });
      throw err;
    }
  }
  return db.transaction(async (tx) => {
    await recordEvent(tx, {
      orderId: claimed.orderId,
      attemptId: claimed.attemptId,
      type: 'refund.abnormal_handled',
      source: 'admin',
      data: { refundRowId: claimed.id, outRefundNo: claimed.outRefundNo, resolution: r.type, by: input.actor.email },
    });
    await appendAudit(tx, input.actor, {
      action: 'refund.abnormal_resolve',
      objectType: 'refund',
      objectId: claimed.id,
      before: { status: 'abnormal' },
      after: {
        resolution: r.type,
        bankType: r.type === 'USER_BANK_CARD' ? r.bankType : null,
        account: r.type === 'USER_BANK_CARD' ? mask(r.bankAccount) : null,
      },
    });
    if (answer) await applyRefundStatus(tx, claimed.outRefundNo, { status: answer.status, refundId: answer.refund_id }, 'query', now);
    const [row] = await tx.select().from(refunds).where(eq(refunds.id, claimed.id));
    if (row && (row.status === 'processing' || row.status === 'abnormal')) {
      // Queried from the start of the schedule again (about a minute first), whatever step the first processing reached.
      await tx.update(refunds).set({ queryStep: 0 }).where(eq(refunds.id, claimed.id));
      await scheduleNextQuery(tx, { id: row.id, outRefundNo: row.outRefundNo, queryStep: 0 }, now, deps.env.REFUND_TIME_SCALE, 'abnormal-query');
    }
    const [final] = await tx.select().from(refunds).where(eq(refunds.id, claimed.id));
    return final!;
  });
}
