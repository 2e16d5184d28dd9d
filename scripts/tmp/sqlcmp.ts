import path from 'node:path';
import { ensureEmbeddedPostgres } from '@/db/embedded';
import postgres from 'postgres';
async function main() {
  const pg = await ensureEmbeddedPostgres({ dataDir: path.resolve('.data/bench-console/pg'), port: 54410 });
  const sql = postgres(pg.url, { max: 1 });
  const lateral = (lim: number) =>
    `select o.id, o.created_at, af.* from orders o left join lateral (select (array_agg(a.out_trade_no order by (a.status='paid') desc, a.created_at desc))[1] as otn, count(*)::int as n, coalesce(bool_or(a.late_payment='after_close'),false) as late from payment_attempts a where a.order_id = o.id) af on true order by o.created_at desc nulls last, o.id desc nulls last limit ${lim}`;
  const cte = (lim: number) => `with page as (select o.id, o.created_at from orders o order by o.created_at desc nulls last, o.id desc nulls last limit ${lim})
    select page.*, af.otn, af.n, af.late from page left join (select a.order_id, (array_agg(a.out_trade_no order by (a.status='paid') desc, a.created_at desc))[1] as otn, count(*)::int as n, coalesce(bool_or(a.late_payment='after_close'),false) as late from payment_attempts a where a.order_id = any(array(select id from page)) group by a.order_id) af on af.order_id = page.id order by page.created_at desc nulls last, page.id desc nulls last`;
  for (const lim of [50, 2000])
    for (const [name, q] of [
      ['lateral', lateral],
      ['cte', cte],
    ] as const) {
      for (let i = 0; i < 2; i++) await sql.unsafe(q(lim));
      const t = performance.now();
      for (let i = 0; i < 5; i++) await sql.unsafe(q(lim));
      console.log(name, lim, ((performance.now() - t) / 5).toFixed(1), 'ms');
    }
  const plan = await sql.unsafe(`explain (analyze, buffers) ${cte(2000)}`);
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
