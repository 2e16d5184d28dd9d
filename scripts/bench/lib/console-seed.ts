// The console benchmarks' data (console-scale.ts, dashboard-scale.ts): their own embedded Postgres in
// .data/bench-console, migrated, with the queues, filled with realistic orders once and reused after.
import path from 'node:path';
import type { Db } from '@/db/client';
import { ensureEmbeddedPostgres } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { seedDemoCatalogue } from '@/db/seed';
import { ensureQueues } from '@/server/queue/boss';
import { ROOT } from './config';

export const CONSOLE_DATA_DIR = path.join(ROOT, '.data', 'bench-console');
/** Moved by BENCH_PORT_OFFSET like the other benchmarks' ports, so two checkouts' console benchmarks can run side by side. */
export const CONSOLE_PG_PORT = 54410 + Number(process.env.BENCH_PORT_OFFSET ?? 0);
const BATCH = 100_000;

/** The benchmarks' Postgres, started (or reused) and migrated; stop it with `.stop()`. */
export async function openConsoleDatabase() {
  const pg = await ensureEmbeddedPostgres({ dataDir: path.join(CONSOLE_DATA_DIR, 'pg'), port: CONSOLE_PG_PORT });
  await runMigrations(pg.url);
  await ensureQueues(pg.url);
  return pg;
}

/**
 * One batch of orders [from, to): a staging table of per-order facts, then every table from it. Orders
 * are made in time order over the last 90 days, as a shop makes them (so the tables lie on disk in the
 * order the list and the export read them, as in production; random times would make every read a random
 * page). The mix:
 * 72 % paid, 12 % closed, 4 % awaiting payment, 5 % refunded, 5 % partially refunded, 2 % in review; learned
 * via notify 85 %, query 10 %, shopper 4 %, bill 1 %; 10 % of orders have a second (closed) attempt; 1 % of
 * paid orders a late payment on it. Paid-by-notify orders have their inbox row; orders of the last 14 days (pg-boss's
 * retention) a completed active-query job.
 */
const SEED_BATCH = `
  create temp table seed on commit drop as
  select i,
         gen_random_uuid() as order_id, gen_random_uuid() as attempt_id, gen_random_uuid() as attempt2_id,
         now() - interval '90 days' * (1 - i::float8 / $3::int) + random() * interval '1 minute' as created_at,
         case when r < 0.72 then 'paid' when r < 0.84 then 'closed' when r < 0.88 then 'awaiting_payment'
              when r < 0.93 then 'refunded' when r < 0.98 then 'partially_refunded' else 'review' end::order_status as status,
         (100 + floor(random() * 50000))::int as amount_fen,
         case when v < 0.85 then 'notify' when v < 0.95 then 'query' when v < 0.99 then 'shopper' else 'bill' end::event_source as via,
         random() < 0.10 as two_attempts,
         random() < 0.01 as late
  from (select i, random() as r, random() as v from generate_series($1::int, $2::int - 1) as g(i)) s;

  insert into orders (id, token, status, amount_fen, description, transaction_id, paid_at, paid_via, review_reason, refunded_fen, created_at, updated_at)
  select order_id, rtrim(translate(encode(decode(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64'), '+/', '-_'), '='), status, amount_fen, '青瓷马克杯',
         case when status not in ('closed', 'awaiting_payment') then '42' || lpad(i::text, 26, '0') end,
         case when status not in ('closed', 'awaiting_payment') then created_at + random() * interval '5 minutes' end,
         case when status not in ('closed', 'awaiting_payment') then via end,
         case when status = 'review' then 'mismatch' end,
         case status when 'refunded' then amount_fen when 'partially_refunded' then amount_fen / 2 else 0 end,
         created_at, created_at
  from seed;

  insert into order_items (order_id, product_id, name, unit_price_fen, quantity)
  select order_id, 'ceramic-mug', '青瓷马克杯', amount_fen, 1 from seed;

  insert into payment_attempts (id, order_id, out_trade_no, status, amount_fen, description, time_expire, expires_at, code_url,
                                transaction_id, paid_at, paid_via, closed_at, created_at, updated_at)
  select attempt_id, order_id, 'SP' || to_char(created_at at time zone 'Asia/Shanghai', 'YYYYMMDDHH24MISS') || lpad(i::text, 12, '0'),
         case when status = 'closed' then 'closed' when status = 'awaiting_payment' then 'awaiting_payment' else 'paid' end::attempt_status,
         amount_fen, '青瓷马克杯', to_char(created_at + interval '15 minutes', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
         created_at + interval '15 minutes', 'weixin://wxpay/bizpayurl?pr=' || substr(md5(i::text), 1, 12),
         case when status not in ('closed', 'awaiting_payment') then '42' || lpad(i::text, 26, '0') end,
         case when status not in ('closed', 'awaiting_payment') then created_at + interval '1 minute' end,
         case when status not in ('closed', 'awaiting_payment') then via end,
         case when status = 'closed' then created_at + interval '15 minutes' end,
         created_at, created_at
  from seed;

  insert into payment_attempts (id, order_id, out_trade_no, status, amount_fen, description, time_expire, expires_at, closed_at,
                                transaction_id, paid_at, paid_via, late_payment, created_at, updated_at)
  select attempt2_id, order_id, 'SQ' || lpad(i::text, 12, '0'), case when late and status = 'paid' then 'paid' else 'closed' end::attempt_status,
         amount_fen, '青瓷马克杯', to_char(created_at - interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
         created_at - interval '1 minute', created_at - interval '1 minute',
         case when late and status = 'paid' then '43' || lpad(i::text, 26, '0') end,
         case when late and status = 'paid' then created_at + interval '2 minutes' end,
         case when late and status = 'paid' then 'notify'::event_source end,
         case when late and status = 'paid' then 'after_close' end,
         created_at - interval '16 minutes', created_at
  from seed where two_attempts;

  insert into order_events (order_id, attempt_id, type, source, data, created_at)
  select order_id, attempt_id, e.type, e.source, e.data, created_at + e.after
  from seed cross join lateral (values
    ('order.created', 'shopper'::event_source, '{}'::jsonb, interval '0'),
    ('attempt.created', 'shopper'::event_source, '{}'::jsonb, interval '1 second'),
    (case when status in ('closed', 'awaiting_payment') then 'attempt.closed' else 'order.paid' end, via, jsonb_build_object('amountFen', amount_fen), interval '1 minute')
  ) as e(type, source, data, after)
  where not (status = 'awaiting_payment' and e.type = 'attempt.closed');

  insert into wechatpay_notifications (notification_id, event_type, resource_type, summary, create_time, serial, resource, received_at, last_received_at, processed_at, outcome)
  select 'N' || lpad(i::text, 14, '0'), 'TRANSACTION.SUCCESS', 'encrypt-resource', '支付成功', to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'), 'PUB_KEY_ID_BENCH',
         jsonb_build_object('out_trade_no', 'SP' || to_char(created_at at time zone 'Asia/Shanghai', 'YYYYMMDDHH24MISS') || lpad(i::text, 12, '0'),
                            'transaction_id', '42' || lpad(i::text, 26, '0'), 'trade_state', 'SUCCESS', 'amount', jsonb_build_object('total', amount_fen, 'currency', 'CNY')),
         created_at + interval '1 minute', created_at + interval '1 minute', created_at + interval '1 minute', 'paid'
  from seed where status not in ('closed', 'awaiting_payment') and via = 'notify';

  insert into pgboss.job (id, name, data, state, created_on, started_on, completed_on)
  select gen_random_uuid(), 'payment.query-attempt', jsonb_build_object('version', 1, 'attemptId', attempt_id, 'step', 0), 'completed',
         created_at + interval '5 seconds', created_at + interval '5 seconds', created_at + interval '5 seconds'
  from seed where created_at > now() - interval '14 days';

  insert into refunds (order_id, attempt_id, out_refund_no, amount_fen, reason, kind, status, refund_id, created_at, updated_at)
  select order_id, attempt_id, 'RF' || lpad(i::text, 14, '0'), case when status = 'refunded' then amount_fen else amount_fen / 2 end,
         '客户退货', 'merchant', 'succeeded', '50' || lpad(i::text, 27, '0'), created_at + interval '1 day', created_at + interval '1 day'
  from seed where status in ('refunded', 'partially_refunded');
`;

/** Seeds orders until there are `orders` of them (a database already that full is left as it is). */
export async function seedOrders(db: Db, total: number, say: (line: string) => void): Promise<void> {
  const { n } = (await db.$client.unsafe<{ n: number }[]>(`select count(*)::int as n from orders`))[0]!;
  if (n >= total) {
    say(`${n} orders already there: not seeding`);
    return;
  }
  await seedDemoCatalogue(db);
  const started = Date.now();
  for (let from = n; from < total; from += BATCH) {
    const to = Math.min(total, from + BATCH);
    await db.$client.begin(async (tx) => {
      for (const statement of SEED_BATCH.split(/;\s*\n/)
        .map((s) => s.trim())
        .filter(Boolean)) {
        await tx.unsafe(statement, statement.includes('$1') ? [from, to, total] : []);
      }
    });
    say(`seeded ${to.toLocaleString('en')} orders (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  await db.$client.unsafe('vacuum analyze');
}
