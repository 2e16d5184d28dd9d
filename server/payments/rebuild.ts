// An order we lost (issue 16 §2): WeChat has a payment for an out_trade_no of ours (or one a person
// force-posts) and we have no order. Rebuilt from WeChat's own record of the transaction (a query, never
// the bill alone): an order and attempt with that out_trade_no, then the payment applied by the payment
// domain like any other path would (markPaid, path `bill`, payment.succeeded). No catalogue lines: what was
// bought is not in WeChat's record; the timeline says where the order came from.
import { eq } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { orders, paymentAttempts } from '@/db/schema';
import { recordEvent } from '@/server/orders/state';
import type { Transaction } from '@/server/wechatpay/schemas';
import { formatRfc3339Shanghai } from '@/server/wechatpay/time';
import { newOrderToken, wechatDescription } from './orders';
import { applyPaymentResult, crossCheck, type PaymentContext } from './payment-result';

export type RebuildOutcome =
  | { rebuilt: true; orderId: string }
  | { rebuilt: false; reason: 'not_paid' | 'exists' | 'not_ours'; orderId?: string; problems?: string[] };

/** Runs in the caller's transaction. Idempotent: a second call finds the attempt and rebuilds nothing. */
export async function rebuildOrderFromTransaction(tx: Tx, t: Transaction, ctx: PaymentContext, why: Record<string, unknown>): Promise<RebuildOutcome> {
  if (t.trade_state !== 'SUCCESS' && t.trade_state !== 'REFUND') return { rebuilt: false, reason: 'not_paid' };
  const [existing] = await tx.select({ orderId: paymentAttempts.orderId }).from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, t.out_trade_no));
  if (existing) return { rebuilt: false, reason: 'exists', orderId: existing.orderId };
  const amountFen = t.amount?.total ?? 0;
  // Our mchid and appid, a transaction id, CNY: anything else is not a payment to this shop.
  const problems = crossCheck(t, { outTradeNo: t.out_trade_no, amountFen }, ctx.expected);
  if (problems.length || amountFen <= 0) return { rebuilt: false, reason: 'not_ours', problems };

  const now = ctx.now();
  const description = wechatDescription(`按微信记录重建 ${t.out_trade_no}`);
  const [order] = await tx
    .insert(orders)
    .values({ token: newOrderToken(), amountFen, description, createdAt: now, updatedAt: now })
    .returning({ id: orders.id });
  if (!order) throw new Error('the order insert returned no row');
  const [attempt] = await tx
    .insert(paymentAttempts)
    .values({
      orderId: order.id,
      outTradeNo: t.out_trade_no,
      amountFen,
      description,
      timeExpire: formatRfc3339Shanghai(now),
      expiresAt: now,
      createdAt: now,
      updatedAt: now,
    })
    .returning({ id: paymentAttempts.id });
  await recordEvent(tx, {
    orderId: order.id,
    attemptId: attempt!.id,
    type: 'order.rebuilt',
    source: ctx.source,
    data: { outTradeNo: t.out_trade_no, transactionId: t.transaction_id ?? null, amountFen, ...why },
  });
  const applied = await applyPaymentResult(tx, t, ctx);
  if (applied.outcome !== 'paid') throw new Error(`a rebuilt order was not paid: ${applied.outcome}`);
  return { rebuilt: true, orderId: order.id };
}
