// Performance contract (rows read, not time): it pins a planning decision and may fail on a legitimate
// change of plan or Postgres version — then re-measure, don't just raise the bound.
//
// The worker's batch path must stay an index walk over the rows of its batch, whatever the tables held when
// its connection first ran it. A new install starts with empty tables; a statement prepared then and run a
// few times gets a generic plan that scans every order or every open attempt, and keeps it while the tables
// grow. Here the statements run on one connection against tables of their own (schema plan_probe, first on
// its search_path): first while the tables are nearly empty, then after 5,000 more orders arrive. The rows
// a batch reads after that growth must be a handful, not the table.
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { paymentContext } from '@/server/payments/context';
import { createOrder } from '@/server/payments/orders';
import { processNotificationBatch } from '@/server/payments/process-notification';
import { rawTransaction, type Db } from '@/db/client';
import * as schema from '@/db/schema';
import { startHarness, type Harness } from '../helpers/app-harness';
import { buildSignedNotification } from '../helpers/notifications';

const SCHEMA = 'plan_probe';
const TABLES = ['orders', 'payment_attempts', 'wechatpay_notifications', 'order_events', 'outbox_events'];
const FILLER = 5000;

let h: Harness;
let probe: postgres.Sql;
let probeDb: Db;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  const admin = h.db.$client;
  await admin.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await admin.unsafe(`create schema ${SCHEMA}`);
  for (const t of TABLES) await admin.unsafe(`create table ${SCHEMA}.${t} (like public.${t} including all)`);
  // One connection, prepared statements on as in the app's pool (db/client.ts): what it plans, it keeps.
  probe = postgres(process.env.DATABASE_URL!, { max: 1, prepare: true, onnotice: () => {}, connection: { search_path: `${SCHEMA}, public` } });
  probeDb = drizzle(probe, { schema }) as unknown as Db; // as the app's pool: drizzle sets the driver's date and JSON serializers
});

afterAll(async () => {
  await probe?.end({ timeout: 5 });
  await h.db.$client.unsafe(`drop schema if exists ${SCHEMA} cascade`);
  await h?.close();
});

/** A waiting order with its open attempt and a matching stored notification, in the probe's tables. */
async function payable(): Promise<number> {
  const order = await createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000 });
  const n = buildSignedNotification(h.credentials, { out_trade_no: order.outTradeNo, amount: order.amountFen });
  const admin = h.db.$client;
  await admin.unsafe(`insert into ${SCHEMA}.orders select * from public.orders where id = $1`, [order.orderId]);
  await admin.unsafe(`insert into ${SCHEMA}.payment_attempts select * from public.payment_attempts where order_id = $1`, [order.orderId]);
  const [row] = await admin.unsafe(
    `insert into ${SCHEMA}.wechatpay_notifications (notification_id, event_type, resource_type, serial, resource)
     values ($1, 'TRANSACTION.SUCCESS', 'encrypt-resource', 'test', $2::text::jsonb) returning id`,
    [JSON.parse(n.body).id as string, JSON.stringify(n.resource)],
  );
  return Number(row!.id);
}

/** Runs `fn` in a transaction on the probe connection; returns its result and the rows it read in the probe's tables. */
async function measured<T>(fn: (db: Db) => Promise<T>): Promise<{ result: T; rowsRead: number }> {
  // The backend's counters not yet flushed to the shared statistics, which keep earlier transactions' reads
  // too: the difference across `fn` is what it read.
  return probeDb.transaction(async (tx) => {
    const sql = rawTransaction(tx);
    const rowsRead = async () => {
      const [row] = await sql.unsafe(
        `select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::int as n from pg_stat_xact_user_tables where schemaname = $1`,
        [SCHEMA],
      );
      return Number(row!.n);
    };
    const before = await rowsRead();
    const result = await fn(tx as unknown as Db);
    return { result, rowsRead: (await rowsRead()) - before };
  });
}

it('reads only the rows of its batch after the tables grew, however small they were when first run', async () => {
  const ctx = paymentContext(h.deps, 'notify'); // after the harness set the merchant up
  // Nearly empty tables: enough runs of every statement for a prepared one to settle on a generic plan.
  for (let i = 0; i < 8; i++) {
    const one = [await payable()];
    expect((await measured((db) => processNotificationBatch(db, one, ctx))).result.size).toBe(1);
    const pair = [await payable(), await payable()];
    expect((await measured((db) => processNotificationBatch(db, pair, ctx))).result.size).toBe(2);
  }

  // The shop gets busy: 5,000 more waiting orders, open attempts and stored notifications.
  const admin = h.db.$client;
  await admin.unsafe(`insert into ${SCHEMA}.orders (token, amount_fen, description) select 'filler-' || g, 100, 'filler' from generate_series(1, ${FILLER}) g`);
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
  const batch = await measured((db) => processNotificationBatch(db, ids, ctx));
  expect(batch.result.size).toBe(5);
  expect(batch.rowsRead).toBeLessThan(120); // a handful per notification; a scan reads thousands

  const single = await measured(async (db) => processNotificationBatch(db, [await payable()], ctx));
  expect(single.result.size).toBe(1);
  expect(single.rowsRead).toBeLessThan(40);
});
