// States a shopper cannot cause from the page (a refund, a late payment frozen for review, an expired QR
// code without waiting 15 minutes) are staged straight in the e2e database, then announced on the
// live-status channel exactly as the app's own state changes are, so the open page must update live.
import postgres from 'postgres';
import { E2E } from './env';

let client: postgres.Sql | undefined;
function db(): postgres.Sql {
  client ??= postgres(process.env.E2E_DATABASE_URL ?? E2E.databaseUrl, { max: 2, onnotice: () => {} });
  return client;
}

export async function closeStaging(): Promise<void> {
  await client?.end({ timeout: 2 });
  client = undefined;
}

async function orderOf(token: string): Promise<{ id: string; amount_fen: number }> {
  const [order] = await db()<{ id: string; amount_fen: number }[]>`select id, amount_fen from orders where token = ${token}`;
  if (!order) throw new Error(`no order for token ${token}`);
  return order;
}

async function announce(orderId: string, status: string): Promise<void> {
  await db()`select pg_notify('scanpay_order_status', ${JSON.stringify({ orderId, status })})`;
}

/** Moves the open attempt's expiry into the past: what 15 minutes of waiting would do. */
export async function expireNow(token: string): Promise<void> {
  const order = await orderOf(token);
  await db()`update payment_attempts set expires_at = now() - interval '1 second'
             where order_id = ${order.id} and status in ('created', 'awaiting_payment')`;
  await announce(order.id, 'awaiting_payment');
}

const FAKE_TRANSACTION_ID = '4200002999202611260000000001';

export type StagedState = 'paid' | 'review_late' | 'review_mismatch' | 'refunded' | 'partially_refunded' | 'closed' | 'no_code';

export async function stage(token: string, state: StagedState): Promise<void> {
  const order = await orderOf(token);
  const sql = db();
  await sql.begin(async (tx) => {
    if (state === 'no_code') {
      // WeChat never answered the prepay call: the attempt is open but has no QR code.
      await tx`update payment_attempts set code_url = null, status = 'created' where order_id = ${order.id} and status in ('created', 'awaiting_payment')`;
      return;
    }
    if (state === 'closed') {
      await tx`update payment_attempts set status = 'closed' where order_id = ${order.id}`;
      await tx`update orders set status = 'closed' where id = ${order.id}`;
      return;
    }
    const paid = sql`coalesce(paid_at, now())`;
    const txid = sql`coalesce(transaction_id, ${FAKE_TRANSACTION_ID})`;
    if (state === 'paid') await tx`update orders set status = 'paid', paid_at = ${paid}, transaction_id = ${txid} where id = ${order.id}`;
    if (state === 'review_late' || state === 'review_mismatch') {
      const reason = state === 'review_late' ? 'late_payment' : 'mismatch';
      await tx`update orders set status = 'review', review_reason = ${reason} where id = ${order.id}`;
    }
    if (state === 'refunded')
      await tx`update orders set status = 'refunded', refunded_fen = amount_fen, paid_at = ${paid}, transaction_id = ${txid} where id = ${order.id}`;
    if (state === 'partially_refunded')
      await tx`update orders set status = 'partially_refunded', refunded_fen = greatest(1, amount_fen / 3), paid_at = ${paid}, transaction_id = ${txid} where id = ${order.id}`;
  });
  await announce(order.id, state);
}

/** How the order learned it was paid: 'notify', 'query' (the worker), 'shopper' ("I've paid"), ... */
export async function paidVia(token: string): Promise<string | null> {
  const [row] = await db()<{ paid_via: string | null }[]>`select paid_via from orders where token = ${token}`;
  return row?.paid_via ?? null;
}

/** Forgets every order-creation rate-limit window, so tests do not spend each other's budget. */
export async function resetRateLimits(): Promise<void> {
  await db()`delete from rate_limits where key like 'create:%'`;
}

/** Uses up the current window of every client that created an order in it. */
export async function exhaustRateLimits(): Promise<void> {
  await db()`update rate_limits set count = 1000000 where key like 'create:%'`;
}

/**
 * Runs `fn` while checkout pages cannot read their order lines (the table is renamed away), so the page
 * fails to render and the shopper sees the error page; everything else keeps working.
 */
export async function withBrokenCheckoutReads<T>(fn: () => Promise<T>): Promise<T> {
  await db()`alter table order_items rename to order_items_unavailable`;
  try {
    return await fn();
  } finally {
    await db()`alter table order_items_unavailable rename to order_items`;
  }
}
