import path from 'node:path';
import { ensureEmbeddedPostgres } from '@/db/embedded';
import { createDb } from '@/db/client';
import { listOrders } from '@/server/console/orders';
async function main() {
  const pg = await ensureEmbeddedPostgres({ dataDir: path.resolve('.data/bench-console/pg'), port: 54410 });
  const { db, sql } = createDb(pg.url, { max: 1 });
  let cursor: any;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    const p = await listOrders(db, {}, { cursor, limit: 2000 });
    console.log('page', i, (performance.now() - t).toFixed(0), 'ms');
    cursor = p.nextCursor;
  }
  const q = `select o.id from orders o where (o.created_at, o.id) < ('${cursor.createdAt.toISOString()}'::timestamptz, '${cursor.id}'::uuid) order by o.created_at desc nulls last, o.id desc nulls last limit 2001`;
  const plan = await sql.unsafe(`explain (analyze, buffers) ${q}`);
  console.log(plan.map((r: any) => r['QUERY PLAN']).join('\n'));
  await sql.end();
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
