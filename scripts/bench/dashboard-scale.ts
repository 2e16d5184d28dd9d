// `npm run bench:dashboard [-- --orders 1000000] [--runs 40] [--no-seed] [--rollup] [--no-write]`: the
// merchant dashboard at scale (issue 17 item 7). Uses the console benchmark's database (seeded as
// bench:console seeds it), fills the stats tables with the product's own nightly recompute
// (recomputeStats over every seeded day, as after a restore or a bill import), checks the dashboard's
// totals against the order tables, then times, through the domain functions the dashboard's tRPC
// procedures and the console layout call, each query and a whole page load per period.
// Writes docs/benchmarks-dashboard.md.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '@/db/client';
import { alertCounts } from '@/server/monitoring/alerts';
import { reconciliationStatus } from '@/server/reconciliation/status';
import { assertSupportedNode } from '@/server/runtime';
import { dashboardStats } from '@/server/stats/dashboard';
import { recomputeStats } from '@/server/stats/rollup';
import { addDays, beijingDay } from '@/server/stats/time';
import { deliveryHealth } from '@/server/webhooks/health';
import { openConsoleDatabase, seedOrders } from './lib/console-seed';
import { optionValue, ROOT } from './lib/config';
import { type LatencySummary, round, summarize } from './lib/stats';

const argv = process.argv.slice(2);
const arg = (name: string) => optionValue(argv, name);
const ORDERS = Number(arg('orders') ?? 1_000_000);
const RUNS = Number(arg('runs') ?? 40);
const SEED = !argv.includes('--no-seed');
const WRITE = !argv.includes('--no-write');
/** --rollup: recompute the stats tables even when they already match the orders. */
const FORCE_ROLLUP = argv.includes('--rollup');
const TARGET_P95_MS = 100;
const say = (line: string) => console.log(`[dashboard-bench] ${line}`);

async function one<T extends Record<string, unknown>>(db: Db, query: string): Promise<T> {
  return ((await db.$client.unsafe(query)) as unknown as T[])[0]!;
}

/** The seeded Beijing days: the first order's to the last refund's (refunds land a day after the order). */
async function seededDays(db: Db): Promise<{ from: string; to: string }> {
  const r = await one<{ first: Date; last: Date }>(
    db,
    `select (select min(created_at) from orders) as first,
            greatest(now(), (select max(updated_at) from refunds), (select max(paid_at) from orders)) as last`,
  );
  return { from: beijingDay(new Date(r.first)), to: beijingDay(new Date(r.last)) };
}

/**
 * The stats tables as the product leaves them: the nightly recompute (recomputeStats) over every seeded day.
 * Skipped when they already count every order created (a previous run filled them), unless --rollup.
 */
async function fillStats(db: Db, days: { from: string; to: string }): Promise<{ seconds: number | null }> {
  const { created, orders } = await one<{ created: number; orders: number }>(
    db,
    `select (select coalesce(sum(created_count), 0)::int from stats_daily) as created, (select count(*)::int from orders) as orders`,
  );
  if (!FORCE_ROLLUP && created === orders) {
    say(`stats tables already hold all ${orders.toLocaleString('en')} orders: not recomputing (--rollup to force)`);
    return { seconds: null };
  }
  say(`recomputing the stats of ${days.from} … ${days.to} (the nightly recompute, every hour of every day)`);
  const t = performance.now();
  await recomputeStats(db, days.from, days.to);
  const seconds = (performance.now() - t) / 1000;
  say(`stats recomputed in ${seconds.toFixed(0)} s`);
  return { seconds };
}

/** The dashboard's totals over every seeded day must equal the order tables' (paid by paid time, late payments included). */
async function checkTotals(db: Db, days: { from: string; to: string }): Promise<string> {
  const d = await dashboardStats(db, days);
  const raw = await one<{ paid: number; gross: number; created: number; refunds: number; refund_fen: number }>(
    db,
    `select (select count(*) from orders where paid_at is not null)::int
              + (select count(*) from payment_attempts where late_payment is not null and status = 'paid')::int as paid,
            (select coalesce(sum(amount_fen), 0) from orders where paid_at is not null)::bigint
              + (select coalesce(sum(amount_fen), 0) from payment_attempts where late_payment is not null and status = 'paid')::bigint as gross,
            (select count(*) from orders)::int as created,
            (select count(*) from refunds where status = 'succeeded')::int as refunds,
            (select coalesce(sum(amount_fen), 0) from refunds where status = 'succeeded')::bigint as refund_fen`,
  );
  const pairs: Array<[string, number, number]> = [
    ['paid orders', d.totals.paidCount, Number(raw.paid)],
    ['gross fen', d.totals.grossFen, Number(raw.gross)],
    ['orders created', d.funnel.created, Number(raw.created)],
    ['refunds', d.totals.refundCount, Number(raw.refunds)],
    ['refunded fen', d.totals.refundFen, Number(raw.refund_fen)],
  ];
  const wrong = pairs.filter(([, a, b]) => a !== b);
  if (wrong.length) throw new Error(`dashboard totals differ from the order tables: ${wrong.map(([k, a, b]) => `${k} ${a} ≠ ${b}`).join(', ')}`);
  return pairs.map(([k, a]) => `${k} ${a.toLocaleString('en')}`).join(', ');
}

async function timeRuns(fn: () => Promise<unknown>): Promise<LatencySummary> {
  for (let i = 0; i < 3; i++) await fn(); // warm: plans and buffers
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return summarize(samples);
}

interface Measured {
  name: string;
  s: LatencySummary;
}

async function main() {
  assertSupportedNode();
  const pg = await openConsoleDatabase();
  // The web process's pool serves a batched tRPC request's procedures concurrently; 4 is what it may use here.
  const { db, sql } = createDb(pg.url, { max: 4 });
  try {
    if (SEED) await seedOrders(db, ORDERS, say);
    const { n: total } = await one<{ n: number }>(db, `select count(*)::int as n from orders`);
    const days = await seededDays(db);
    const rollup = await fillStats(db, days);
    const check = await checkTotals(db, days);
    say(`totals match the order tables: ${check}`);
    const loadBefore = os.loadavg()[0]!;

    const today = beijingDay(new Date());
    const periods = [
      { name: 'today (hourly series)', range: { from: today, to: today } },
      { name: 'last 7 days', range: { from: addDays(today, -6), to: today } },
      { name: 'last 30 days', range: { from: addDays(today, -29), to: today } },
      { name: `custom: every seeded day (${days.from} … ${days.to})`, range: days },
    ];
    const queries: Measured[] = [];
    for (const p of periods) {
      queries.push({ name: `stats.dashboard, ${p.name}`, s: await timeRuns(() => dashboardStats(db, p.range)) });
      say(`${queries.at(-1)!.name}: p95 ${round(queries.at(-1)!.s.p95)} ms`);
    }
    for (const [name, fn] of [
      ['stats.deliveryHealth', () => deliveryHealth(db)],
      ['stats.reconciliationStatus', () => reconciliationStatus(db, { days: 7 })],
      ['alert banner (console layout, alertCounts)', () => alertCounts(db)],
    ] as const) {
      queries.push({ name, s: await timeRuns(fn) });
      say(`${name}: p95 ${round(queries.at(-1)!.s.p95)} ms`);
    }

    // A page load: the layout reads the alert counts while rendering, then the browser's one batched tRPC
    // request runs the three procedures side by side.
    const pages: Measured[] = [];
    for (const p of periods) {
      const s = await timeRuns(async () => {
        await alertCounts(db);
        await Promise.all([dashboardStats(db, p.range), deliveryHealth(db), reconciliationStatus(db, { days: 7 })]);
      });
      pages.push({ name: p.name, s });
      say(`page load, ${p.name}: p95 ${round(s.p95)} ms`);
    }

    const counts = await one<Record<string, number>>(
      db,
      `select (select count(*)::int from stats_hourly) as hourly, (select count(*)::int from stats_daily) as daily,
              (select count(*)::int from webhook_attempts) as webhook_attempts, (select count(*)::int from reconciliation_days) as reconciliation_days,
              (select count(*)::int from alerts) as alerts`,
    );
    if (WRITE) writeReport({ total, days, rollup, check, queries, pages, counts, loadBefore, loadAfter: os.loadavg()[0]! });
  } finally {
    await sql.end();
    await pg.stop();
  }
}

interface Report {
  total: number;
  days: { from: string; to: string };
  rollup: { seconds: number | null };
  check: string;
  queries: Measured[];
  pages: Measured[];
  counts: Record<string, number>;
  loadBefore: number;
  loadAfter: number;
}

function writeReport(r: Report): void {
  const ok = (s: LatencySummary) => (s.p95 < TARGET_P95_MS ? '✅' : '❌');
  const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  const table = (rows: Measured[], first: string) => [
    row([first, 'runs', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', `p95 < ${TARGET_P95_MS} ms`]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---']),
    ...rows.map((m) => row([m.name, m.s.count, round(m.s.p50), round(m.s.p95), round(m.s.p99), round(m.s.max), ok(m.s)])),
  ];
  const cpus = os.cpus();
  const lines = [
    '# Benchmarks: the merchant dashboard at scale',
    '',
    `Written by \`npm run bench:dashboard\` (scripts/bench/dashboard-scale.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC:`,
    `${cpus.length} × ${cpus[0]?.model?.trim() ?? '?'}, load average ${r.loadBefore.toFixed(2)} before the timed runs and ${r.loadAfter.toFixed(2)} after, Node ${process.versions.node}.`,
    '',
    `${r.total.toLocaleString('en')} orders over ${r.days.from} … ${r.days.to} (Beijing), seeded as \`npm run bench:console\` seeds them`,
    "(scripts/bench/lib/console-seed.ts). The stats tables were filled by the product's nightly recompute",
    `(\`recomputeStats\`, every hour of every seeded day)${r.rollup.seconds === null ? ' in an earlier run' : `, which took ${Math.round(r.rollup.seconds)} s`}:`,
    `${r.counts.hourly} hourly and ${r.counts.daily} daily rows. Before timing, the dashboard's totals over every seeded day were`,
    `checked against the order tables (${r.check}).`,
    '',
    `Each figure is ${RUNS} runs after 3 warm-up runs, timed around the domain function the procedure calls (the`,
    'database round trips and the mapping; not the browser, the session check, superjson or the network);',
    `with ${RUNS} runs the p99 is the nearest rank, i.e. the slowest run or close to it.`,
    `Other tables the page reads hold what the seed leaves there: ${r.counts.webhook_attempts} webhook attempts,`,
    `${r.counts.reconciliation_days} reconciliation days, ${r.counts.alerts} alerts.`,
    '',
    '## Whole page load, per period',
    '',
    "The console layout's alert counts, then the dashboard's batched tRPC request (stats.dashboard,",
    'stats.deliveryHealth and stats.reconciliationStatus side by side, as the server runs one batch).',
    '',
    ...table(r.pages, 'period'),
    '',
    '## Each query',
    '',
    ...table(r.queries, 'query'),
    '',
  ];
  const file = path.join(ROOT, 'docs', 'benchmarks-dashboard.md');
  writeFileSync(file, `${lines.join('\n')}\n`);
  say(`wrote ${path.relative(ROOT, file)}`);
}

main().catch((err) => {
  console.error('[dashboard-bench] failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
