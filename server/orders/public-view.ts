// An order as business systems see it: what the Payments API returns and what every order event (webhook
// body, events API) carries as its snapshot. One read and one shape for both, below either of them.
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';

export const ORDER_STATUSES = ['awaiting_payment', 'paid', 'closed', 'refunded', 'partially_refunded', 'review'] as const;

const iso = z.iso.datetime({ offset: true });

export const PublicOrder = z
  .object({
    id: z.uuid(),
    merchantOrderNo: z.string().nullable(),
    status: z.enum(ORDER_STATUSES),
    amountFen: z.number().int(),
    refundedFen: z.number().int(),
    currency: z.string(),
    description: z.string(),
    outTradeNo: z.string(),
    codeUrl: z.string().nullable().meta({ description: 'The weixin:// URL to show as a QR code; null once paid or closed.' }),
    checkoutUrl: z.string().meta({ description: 'Our checkout page for the order (QR code, live status).' }),
    transactionId: z.string().nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
    expiresAt: iso,
    paidAt: iso.nullable(),
    createdAt: iso,
  })
  .meta({ id: 'Order' });

export type PublicOrderView = z.infer<typeof PublicOrder>;

export interface PublicOrderRow extends Record<string, unknown> {
  id: string;
  token: string;
  merchant_order_no: string | null;
  status: PublicOrderView['status'];
  amount_fen: number;
  refunded_fen: number;
  currency: string;
  description: string;
  transaction_id: string | null;
  metadata: Record<string, string> | null;
  paid_at: string | null;
  created_at: string;
  out_trade_no: string;
  code_url: string | null;
  attempt_status: string;
  expires_at: string;
}

export const isoOf = (v: string | Date) => new Date(v).toISOString();

/** Orders with the attempt that matters (the paid one, else the newest), as checkout shows them. */
export async function selectPublicOrders(db: DbOrTx, where: SQL, limit = 1): Promise<PublicOrderRow[]> {
  return db.execute<PublicOrderRow>(sql`
    select o.id, o.token, o.merchant_order_no, o.status, o.amount_fen, o.refunded_fen, o.currency, o.description,
           o.transaction_id, o.metadata, o.paid_at, o.created_at,
           a.out_trade_no, a.code_url, a.status as attempt_status, a.expires_at
    from orders o
    cross join lateral (
      select * from payment_attempts pa where pa.order_id = o.id
      order by (pa.status = 'paid' and pa.late_payment is null) desc, pa.created_at desc limit 1) a
    where ${where}
    order by o.created_at desc, o.id desc
    limit ${limit}`) as unknown as Promise<PublicOrderRow[]>;
}

export function toPublicOrder(row: PublicOrderRow, appUrl: string): PublicOrderView {
  const open = row.attempt_status === 'created' || row.attempt_status === 'awaiting_payment';
  return {
    id: row.id,
    merchantOrderNo: row.merchant_order_no,
    status: row.status,
    amountFen: row.amount_fen,
    refundedFen: row.refunded_fen,
    currency: row.currency,
    description: row.description,
    outTradeNo: row.out_trade_no,
    codeUrl: open && row.status === 'awaiting_payment' ? row.code_url : null,
    checkoutUrl: `${appUrl}/checkout/${row.token}`,
    transactionId: row.transaction_id,
    metadata: row.metadata,
    expiresAt: isoOf(row.expires_at),
    paidAt: row.paid_at === null ? null : isoOf(row.paid_at),
    createdAt: isoOf(row.created_at),
  };
}

/** An order's snapshot for events and webhooks (null for an unknown id). */
export async function orderSnapshot(db: DbOrTx, appUrl: string, id: string): Promise<PublicOrderView | null> {
  return (await orderSnapshots(db, appUrl, [id])).get(id) ?? null;
}

/** Several orders' snapshots in one read, by id. */
export async function orderSnapshots(db: DbOrTx, appUrl: string, ids: readonly string[]): Promise<Map<string, PublicOrderView>> {
  const unique = [...new Set(ids)];
  if (!unique.length) return new Map();
  const rows = await selectPublicOrders(db, sql`o.id = any(${`{${unique.join(',')}}`}::uuid[])`, unique.length);
  return new Map(rows.map((r) => [String(r.id), toPublicOrder(r, appUrl)]));
}
