// The Payments API's order operations: thin over the payments domain (createDirectOrder, requestPrepay,
// closeOrderForMerchant, syncOrder), plus the API's view of an order.
import { sql, type SQL } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuditActor } from '@/server/auth/audit';
import { syncOrder } from '@/server/console/sync';
import type { AppDeps } from '@/server/deps';
import { AppError } from '@/server/errors';
import { closeOrderForMerchant } from '@/server/payments/compensation';
import { paymentContext } from '@/server/payments/context';
import { createDirectOrder, requestPrepay } from '@/server/payments/orders';
import { isoOf, selectPublicOrders, toPublicOrder, type PublicOrderView } from '@/server/orders/public-view';
import { ApiError } from './errors';
import type { CreateOrderBody, ListOrdersQuery } from './schemas';

export type ApiOrder = PublicOrderView;

export async function getApiOrder(deps: Pick<AppDeps, 'db' | 'env'>, id: string): Promise<ApiOrder> {
  const [row] = await selectPublicOrders(deps.db, sql`o.id = ${id}`);
  if (!row) throw new ApiError('not_found', 'No order with this id');
  return toPublicOrder(row, deps.env.appUrl);
}

/** Creates the order, then asks WeChat for its QR code; a provider outage leaves the order, answered 503. */
export async function createApiOrder(deps: AppDeps, input: z.infer<typeof CreateOrderBody>, clientIp: string | null): Promise<ApiOrder> {
  const gateway = deps.gateway();
  const created = await createDirectOrder(deps.db, {
    merchantOrderNo: input.merchantOrderNo,
    amountFen: input.amountFen,
    description: input.description,
    metadata: input.metadata ?? null,
    clientIp,
    expireMinutes: input.expiresInMinutes ?? deps.env.ORDER_EXPIRE_MINUTES,
    scale: deps.env.COMPENSATION_TIME_SCALE,
    maxAmountFen: deps.env.MAX_ORDER_AMOUNT_FEN,
    now: deps.clock.now(),
  }).catch((err: unknown) => {
    if (err instanceof AppError && err.code === 'CONFLICT') throw new ApiError('conflict', err.message, { merchantOrderNo: input.merchantOrderNo });
    throw err;
  });
  await requestPrepay(deps.db, gateway, created.attemptId, deps.env.notifyUrl);
  return getApiOrder(deps, created.orderId);
}

function encodeCursor(row: { created_at: string; id: string }): string {
  return Buffer.from(`${isoOf(row.created_at)}|${row.id}`).toString('base64url');
}
function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(id))
    throw new ApiError('invalid_request', 'cursor is not one this API returned');
  return { createdAt, id };
}

/** Newest first, keyset pages on (created_at, id). */
export async function listApiOrders(deps: Pick<AppDeps, 'db' | 'env'>, q: z.infer<typeof ListOrdersQuery>) {
  const conds: SQL[] = [sql`true`];
  if (q.merchantOrderNo) conds.push(sql`o.merchant_order_no = ${q.merchantOrderNo}`);
  if (q.status) conds.push(sql`o.status = ${q.status}`);
  if (q.createdFrom) conds.push(sql`o.created_at >= ${q.createdFrom}::timestamptz`);
  if (q.createdTo) conds.push(sql`o.created_at < ${q.createdTo}::timestamptz`);
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    conds.push(sql`(o.created_at, o.id) < (${c.createdAt}::timestamptz, ${c.id}::uuid)`);
  }
  const rows = await selectPublicOrders(deps.db, sql.join(conds, sql` and `), q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { data: page.map((r) => toPublicOrder(r, deps.env.appUrl)), nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
}

export async function closeApiOrder(deps: AppDeps, id: string): Promise<ApiOrder> {
  const before = await getApiOrder(deps, id);
  if (before.status !== 'awaiting_payment')
    throw new ApiError('conflict', `The order is ${before.status}: only an order awaiting payment can be closed`, { status: before.status });
  await closeOrderForMerchant(deps.db, deps.gateway(), id, paymentContext(deps, 'query'));
  const after = await getApiOrder(deps, id);
  // Found paid while closing (the payer was quicker): the order is paid, not closed.
  if (after.status !== 'closed') throw new ApiError('conflict', `The order is ${after.status}: it could not be closed`, { status: after.status });
  return after;
}

export async function syncApiOrder(deps: AppDeps, actor: AuditActor, id: string) {
  await getApiOrder(deps, id);
  const { results } = await syncOrder(deps, actor, id);
  return { order: await getApiOrder(deps, id), results };
}
