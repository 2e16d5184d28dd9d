// Database clients. Created by the process boot (server/deps.ts) and passed down; nothing here is global.
// `next build` imports route modules, so nothing connects at import time.
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

/** drizzle over postgres.js; `$client` is the postgres.js pool underneath, for hand-written hot-path SQL. */
export type Db = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
/** A drizzle transaction: what `db.transaction(async (tx) => ...)` hands its callback. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Domain functions take either, so "write + enqueue" composes into one transaction. */
export type DbOrTx = Db | Tx;

export interface Clients {
  url: string;
  sql: postgres.Sql;
  db: Db;
}

export function createDb(url: string, opts: { max?: number; applicationName?: string } = {}): Clients {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    // Prepared statements make the hot path (notify insert + enqueue) markedly cheaper on Postgres.
    prepare: true,
    connection: { application_name: opts.applicationName ?? 'scanpay' },
  });
  return { url, sql, db: drizzle(sql, { schema }) };
}

/** The postgres.js transaction underneath a drizzle transaction, for SQL that must share it (job inserts). */
export function rawTransaction(tx: Tx): postgres.TransactionSql {
  // drizzle keeps the driver client on its session; there is no public accessor in 0.45. Checked at boot
  // (assertRawTransaction) so a drizzle release that moves it fails at start-up, not on the first enqueue.
  return (tx as unknown as { session: { client: postgres.TransactionSql } }).session.client;
}

/** Start-up self-test of rawTransaction against the installed drizzle. */
export async function assertRawTransaction(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    const client = rawTransaction(tx);
    if (typeof client?.unsafe !== 'function') throw new Error('drizzle no longer exposes the postgres.js transaction (db/client.ts rawTransaction)');
  });
}

export { schema };
