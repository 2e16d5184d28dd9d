// The refund domain's entry points reconciliation uses, in one file: nothing else in server/reconciliation/
// writes a refund. Both go to the refund domain (server/refunds), the one owner of refund transitions.
import type { Tx } from '@/db/client';
import { applyRefundStatus, recordExternalRefund, type ExternalRefund } from '@/server/refunds';

export type { ExternalRefund };

/**
 * A refund found in a bill: one made outside Scanpay (the merchant platform) is recorded as kind
 * 'external' and, when it succeeded, moves the order and emits `refund.succeeded`; one of ours only takes
 * the bill's status. Idempotent per out_refund_no. Returns whether it was new.
 */
export async function importExternalRefund(tx: Tx, r: ExternalRefund): Promise<boolean> {
  return (await recordExternalRefund(tx, r)).created;
}

/** WeChat's current word on one of our refunds (a query after the bill's snapshot disagreed), on the timeline as path `bill`. */
export async function applyQueriedRefundStatus(tx: Tx, outRefundNo: string, wechat: { status: string; refundId?: string | null }): Promise<boolean> {
  return (await applyRefundStatus(tx, outRefundNo, wechat, 'bill')) !== null;
}
