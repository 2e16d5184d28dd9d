// The worker's fast path must stay an index walk over the rows of its batch, whatever the tables held when
// its connection first ran it. A new install starts with empty tables; a statement prepared then and run a
// few times gets a generic plan that scans every order or every open attempt, and keeps it while the tables
// grow. Here the statements run on one connection against tables of their own (schema plan_probe, first on
// its search_path): first while the tables are nearly empty, then after 5,000 more orders arrive. The rows
// a batch reads after that growth must be a handful, not the table.
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, getDb } from '@/db/client';
import { paymentContext } from '@/server/payments/context';
import { createOrder } from '@/server/payments/orders';
import { markPaidFastBatch, tryMarkPaidFast } from '@/server/payments/paid-fast-path';
import { startHarness, type Harness } from '../helpers/app-harness';
import { buildSignedNotification } from '../helpers/notifications';

const SCHEMA = 'plan_probe';
const TABLES = ['orders', 'payment_attempts', 'wechatpay_notifications', 'order_events', 'outbox_events'];
const FILLER = 5000;

let h: Harness;
let probe: postgres.Sql;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  const admin = clients().sql;
  await admin.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await admin.unsafe(`create schema ${SCHEMA}`);
  for (const t of TABLES) await admin.unsafe(`create table ${SCHEMA}.${t} (like public.${t} including all)`);
  // One connection, prepared statements on as in the app's pool (db/client.ts): what it plans, it keeps.
  probe = postgres(process.env.DATABASE_URL!, { max: 1, prepare: true, onnotice: () => {}, connection: { search_path: `${SCHEMA}, public` } });
  drizzle(probe); // as the app's pool: drizzle sets the driver's date and JSON serializers
});

afterAll(async () => {
  await probe?.end({ timeout: 5 });
  await clients().sql.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await h?.close();
});

/** A waiting order with its open attempt and a matching stored notification, in the probe's tables. */
async function payable(): Promise<number> {
  const order = await createOrder(getDb(), { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000 });
  const n = buildSignedNotification(h.credentials, { out_trade_no: order.outTradeNo, amount: order.amountFen });
  const admin = clients().sql;
  await admin.unsafe(`insert into ${SCHEMA}.orders select * from public.orders where id = $1`, [order.orderId]);
  await admin.unsafe(`insert into ${SCHEMA}.payment_attempts select * from public.payment_attempts where order_id = $1`, [order.orderId]);
  const [row] = await admin.unsafe(
    `insert into ${SCHEMA}.wechatpay_notifications (notification_id, event_type, resource_type, serial, resource)
     values ($1, 'TRANSACTION.SUCCESS', 'encrypt-resource', 'test', $2::text::jsonb) returning id`,
    [JSON.parse(n.body).id as string, JSON.stringify(n.resource)],
  );
  return Number(row.id);
}

/** Runs `fn` in a transaction on the probe connection; returns its result and the rows it read in the probe's tables. */
async function measured<T>(fn: (sql: postgres.TransactionSql) => Promise<T>): Promise<{ result: T; rowsRead: number }> {
  // The backend's counters not yet flushed to the shared statistics, which keep earlier transactions' reads
  // too: the difference across `fn` is what it read.
  const rowsRead = async (sql: postgres.TransactionSql) => {
    const [row] = await sql.unsafe(
      `select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::int as n from pg_stat_xact_user_tables where schemaname = $1`,
      [SCHEMA],
    );
    return Number(row.n);
  };
  return (await probe.begin(async (sql) => {
    const before = await rowsRead(sql);
    const result = await fn(sql);
    return { result, rowsRead: (await rowsRead(sql)) - before };
  })) as { result: T; rowsRead: number };
}

it('reads only the rows of its batch after the tables grew, however small they were when first run', async () => {
  const ctx = paymentContext('notify'); // after the harness set the merchant up
  // Nearly empty tables: enough runs of every statement for a prepared one to settle on a generic plan.
  for (let i = 0; i < 8; i++) {
    const id = await payable();
    const single = await measured((sql) => tryMarkPaidFast(sql, id, ctx));
    expect(single.result).toBe('paid');
    const pair = [await payable(), await payable()];
    const batch = await measured((sql) => markPaidFastBatch(sql, pair, ctx));
    expect(batch.result.size).toBe(2);
  }

  // The shop gets busy: 5,000 more waiting orders, open attempts and stored notifications.
  const admin = clients().sql;
  await admin.unsafe(
    `insert into ${SCHEMA}.orders (token, amount_fen, description) select 'filler-' || g, 100, 'filler' from generate_series(1, ${FILLER}) g`,
  );
  await admin.unsafe(
    `insert into ${SCHEMA}.payment_attempts (order_id, out_trade_no, status, amount_fen, description, time_expire, expires_at)
     select id, 'F' || token, 'awaiting_payment', 100, 'filler', 'x', now() + interval '1 hour' from ${SCHEMA}.orders where description = 'filler'`,
  );
  await admin.unsafe(
    `insert into ${SCHEMA}.wechatpay_notifications (notification_id, event_type, resource_type, serial, resource)
     select 'filler-' || g, 'TRANSACTION.SUCCESS', 'encrypt-resource', 'test', jsonb_build_object('out_trade_no', 'Ffiller-' || g)
     from generate_series(1, ${FILLER}) g`,
  );

  const ids = [await payable(), await payable(), await payable(), await payable(), await payable()];
  const batch = await measured((sql) => markPaidFastBatch(sql, ids, ctx));
  expect(batch.result.size).toBe(5);
  expect(batch.rowsRead).toBeLessThan(100); // about 8 per notification; a scan reads thousands

  const last = await payable();
  const single = await measured((sql) => tryMarkPaidFast(sql, last, ctx));
  expect(single.result).toBe('paid');
  expect(single.rowsRead).toBeLessThan(30);
});
