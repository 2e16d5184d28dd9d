// Live order status fans out through Postgres LISTEN/NOTIFY, so a shopper connected to web instance A
// sees a payment processed by a worker in another process. The NOTIFY is sent inside the state-changing
// transaction: listeners hear it only if, and right after, it commits.
import { sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';

export const ORDER_STATUS_CHANNEL = 'scanpay_order_status';

export interface OrderStatusMessage {
  orderId: string;
  status: string;
}

export async function publishOrderStatus(tx: Tx, message: OrderStatusMessage): Promise<void> {
  await tx.execute(sql`select pg_notify(${ORDER_STATUS_CHANNEL}, ${JSON.stringify(message)})`);
}
