import path from 'node:path';
import { createDb } from '@/db/client';
import { ensureEmbeddedPostgres } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { listOrders } from '@/server/console/orders';
import { csvCell, bj, utc } from '@/server/console/csv';

const N = Number(process.argv[2] ?? 200000);
async function main() {
  const pg = await ensureEmbeddedPostgres({ dataDir: path.resolve('.data/bench-console/pg'), port: 54410 });
  await runMigrations(pg.url);
  const { db, sql } = createDb(pg.url, { max: 4 });
  // DB only: keyset pages of 2000
  let t = performance.now();
  let cursor: any;
  let n = 0;
  const all: any[] = [];
  while (n < N) {
    const p = await listOrders(db, {}, { cursor, limit: 2000 });
    n += p.rows.length;
    if (all.length < 200000) all.push(...p.rows);
    if (!p.nextCursor) break;
    cursor = p.nextCursor;
  }
  const dbMs = performance.now() - t;
  console.log(`db keyset: ${n} rows in ${dbMs.toFixed(0)} ms = ${Math.round((n / dbMs) * 1000)} rows/s`);
  t = performance.now();
  let bytes = 0;
  for (const r of all) {
    const line = [
      csvCell(r.id),
      csvCell(bj(r.createdAt)),
      csvCell(utc(r.createdAt)),
      csvCell(bj(r.paidAt)),
      csvCell(utc(r.paidAt)),
      (r.amountFen / 100).toFixed(2),
      r.amountFen,
      csvCell(r.status),
      csvCell(r.paidVia),
      csvCell(r.outTradeNo),
      csvCell(r.transactionId),
      csvCell(r.description),
      r.attempts,
      csvCell(r.flags.join(' ')),
    ].join(',');
    bytes += line.length;
  }
  const fmtMs = performance.now() - t;
  console.log(`format: ${all.length} rows in ${fmtMs.toFixed(0)} ms = ${Math.round((all.length / fmtMs) * 1000)} rows/s`);
  // raw query, no lateral
  t = performance.now();
  const rows = await sql.unsafe(
    `select o.id, o.created_at, o.paid_at, o.amount_fen from orders o order by o.created_at desc nulls last, o.id desc nulls last limit ${N}`,
  );
  const rawMs = performance.now() - t;
  console.log(`raw orders only: ${rows.length} in ${rawMs.toFixed(0)} ms = ${Math.round((rows.length / rawMs) * 1000)} rows/s`);
  await sql.end();
  await pg.stop?.();
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
