// Database clients, created lazily on first use: `next build` imports route modules and must not
// need a DATABASE_URL. One drizzle client per process (kept on globalThis so Next's dev reloads reuse it).
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

/** drizzle over postgres.js; `$client` is the postgres.js pool underneath, for hand-written hot-path SQL. */
export type Db = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
/** A drizzle transaction: what `db.transaction(async (tx) => ...)` hands its callback. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Domain functions take either, so "write + enqueue" composes into one transaction. */
export type DbOrTx = Db | Tx;

interface Clients {
  url: string;
  sql: postgres.Sql;
  db: Db;
}

const holder = globalThis as unknown as { __scanpayDb?: Clients };

export function createDb(url: string, max = Number(process.env.DB_POOL_MAX ?? 10)): Clients {
  const sql = postgres(url, {
    max,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    // Prepared statements make the hot path (notify insert + enqueue) markedly cheaper on Postgres.
    prepare: true,
    connection: { application_name: process.env.SCANPAY_PROCESS_NAME ?? 'scanpay' },
  });
  return { url, sql, db: drizzle(sql, { schema }) };
}

/** The process-wide clients, created on first use from DATABASE_URL. */
export function getDb(): Db {
  return clients().db;
}

export function clients(): Clients {
  if (!holder.__scanpayDb) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set (the start scripts set it when they start embedded Postgres)');
    holder.__scanpayDb = createDb(url);
  }
  return holder.__scanpayDb;
}

export async function closeDb(): Promise<void> {
  const c = holder.__scanpayDb;
  holder.__scanpayDb = undefined;
  if (c) await c.sql.end({ timeout: 5 });
}

/** The postgres.js transaction underneath a drizzle transaction, for SQL that must share it (pg-boss send). */
export function rawTransaction(tx: Tx): postgres.TransactionSql {
  // drizzle keeps the driver client on its session; there is no public accessor in 0.45.
  return (tx as unknown as { session: { client: postgres.TransactionSql } }).session.client;
}

export { schema };
