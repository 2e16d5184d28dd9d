// Force-post (issue 16 §3): a person books WeChat's payment in our ledger. For a bill payment with no order
// (a lost order whose rebuild failed, or a trade someone decides is ours) it rebuilds the order from WeChat's
// query through the payment domain; a reason is required and the decision is audited with what it booked.
// WeChat is asked outside the transaction; the booking and the decision commit together or not at all.
import { eq } from 'drizzle-orm';
import { discrepancies } from '@/db/schema';
import type { AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import { paymentContext } from '@/server/payments/context';
import type { PaymentDeps } from '@/server/payments/deps';
import { rebuildOrderFromTransaction } from '@/server/payments/rebuild';
import { FORCE_POSTABLE_CLASSES } from './classes';
import { decideDiscrepancy } from './discrepancies';
import { query } from './match';

export async function forcePostDiscrepancy(deps: PaymentDeps, actor: AuditActor, input: { id: string; reason: string }) {
  if (input.reason.trim().length < 3) throw new AppError('BAD_REQUEST', 'A reason is required');
  const [d] = await deps.db.select().from(discrepancies).where(eq(discrepancies.id, input.id));
  if (!d) throw new AppError('NOT_FOUND', 'No such discrepancy');
  if (d.state !== 'open') throw new AppError('CONFLICT', 'This discrepancy is already settled');
  if (!(FORCE_POSTABLE_CLASSES as readonly string[]).includes(d.class) || !d.outTradeNo) {
    throw new AppError('BAD_REQUEST', 'Force-post books a bill payment that has no order; this discrepancy is settled otherwise');
  }
  const t = await query(deps, d.outTradeNo);
  if (!t) throw new AppError('CONFLICT', `WeChat has no payment for ${d.outTradeNo}: nothing to post`);
  return decideDiscrepancy(deps.db, actor, { id: d.id, action: 'force_post', reason: input.reason }, async (tx) => {
    const r = await rebuildOrderFromTransaction(tx, t, paymentContext(deps, 'bill'), { discrepancy: d.class, forcePostedBy: actor.email ?? actor.id });
    if (r.rebuilt) return { orderId: r.orderId, did: { rebuiltOrderId: r.orderId, transactionId: t.transaction_id ?? null } };
    if (r.reason === 'exists') throw new AppError('CONFLICT', `An order for ${d.outTradeNo} exists now: recompute the day instead`);
    if (r.reason === 'not_paid') throw new AppError('CONFLICT', `WeChat says ${d.outTradeNo} is ${t.trade_state}, not paid: nothing to post`);
    throw new AppError('CONFLICT', `WeChat's record is not a payment to this shop: ${(r.problems ?? []).join('; ')}`);
  });
}
