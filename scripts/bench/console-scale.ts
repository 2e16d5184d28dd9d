// `npm run bench:console [-- --orders 1000000] [--runs 40] [--no-seed] [--no-write] [--export-only]`: the merchant console at
// scale (issue 13 item 10). Fills its own embedded Postgres with realistic orders (attempts, items, timeline
// events, refunds; 90 days; the status and "learned via" mix of a live shop), then measures, through the
// same domain functions the console's procedures call: the orders list's first page for each indexed filter,
// search by each id kind, the order detail, and a CSV export of every row (rows/s and peak extra RSS).
// Writes docs/benchmarks-console.md with the figures, the targets and each list query's plan.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SQL } from 'drizzle-orm';
import { createDb, type Db } from '@/db/client';
import { consoleExports } from '@/db/schema';
import { listOrders, type OrdersFilter } from '@/server/console/orders';
import { loadOrderDetail } from '@/server/console/order-detail';
import { runExport } from '@/server/console/exports';
import { assertSupportedNode } from '@/server/runtime';
import { openConsoleDatabase, seedOrders } from './lib/console-seed';
import { optionValue, ROOT } from './lib/config';
import { round, summarize } from './lib/stats';

const argv = process.argv.slice(2);
const arg = (name: string) => optionValue(argv, name);
const ORDERS = Number(arg('orders') ?? 1_000_000);
const RUNS = Number(arg('runs') ?? 40);
const SEED = !argv.includes('--no-seed');
const WRITE = !argv.includes('--no-write');
/** --no-export: skip the (long) export, e.g. to look at the plans. */
const EXPORT = !argv.includes('--no-export');
/** --export-only: only the export (to profile it: `--cpu-prof`, `--trace-gc`); never writes the report. */
const EXPORT_ONLY = argv.includes('--export-only');
const say = (line: string) => console.log(`[console-bench] ${line}`);

const TARGETS = { listP95: 50, searchP95: 20, detailP95: 50, exportRowsPerS: 50_000, exportRssMb: 100 };

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const out = await fn();
  return [performance.now() - t, out];
}

async function p95Of(fn: (i: number) => Promise<unknown>): Promise<ReturnType<typeof summarize>> {
  for (let i = 0; i < 3; i++) await fn(i); // warm: plans and buffers
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) samples.push((await time(() => fn(i)))[0]);
  return summarize(samples);
}

async function pick<T>(db: Db, sql: string): Promise<T[]> {
  return db.$client.unsafe<T[]>(sql) as Promise<T[]>;
}

async function main() {
  assertSupportedNode();
  const pg = await openConsoleDatabase();
  const { db, sql } = createDb(pg.url, { max: 4 });
  try {
    if (SEED) await seedOrders(db, ORDERS, say);
    const { n: total } = (await pick<{ n: number }>(db, `select count(*)::int as n from orders`))[0]!;
    say(`measuring against ${total.toLocaleString('en')} orders, ${RUNS} runs each`);
    if (EXPORT_ONLY) {
      await measureExport(db, total);
      return;
    }

    // Samples to search for, spread over the data.
    const sample = await pick<{ id: string; token: string; transaction_id: string | null; amount_fen: number }>(
      db,
      `select id, token, transaction_id, amount_fen from orders where transaction_id is not null order by random() limit ${RUNS + 3}`,
    );
    const tradeNos = await pick<{ out_trade_no: string }>(db, `select out_trade_no from payment_attempts order by random() limit ${RUNS + 3}`);
    const refundNos = await pick<{ out_refund_no: string }>(db, `select out_refund_no from refunds order by random() limit ${RUNS + 3}`);
    const at = <T>(list: T[], i: number): T => list[i % list.length]!;

    const dayAgo = new Date(Date.now() - 86_400_000);
    const monthAgo = new Date(Date.now() - 30 * 86_400_000);
    const lists: Array<{ name: string; filter: OrdersFilter }> = [
      { name: 'no filter', filter: {} },
      { name: 'status = paid', filter: { status: ['paid'] } },
      { name: 'status = review (rare)', filter: { status: ['review'] } },
      { name: 'created in the last day', filter: { createdFrom: dayAgo } },
      { name: 'paid in the last 30 days', filter: { paidFrom: monthAgo } },
      { name: 'learned via bill (rare)', filter: { learnedVia: ['bill'] } },
      { name: 'late payments (rare)', filter: { flags: ['late'] } },
      { name: 'amount ¥100–¥200', filter: { amountMinFen: 10_000, amountMaxFen: 20_000 } },
    ];
    const listRows: Array<{ name: string; s: ReturnType<typeof summarize>; rows: number }> = [];
    for (const l of lists) {
      let rows = 0;
      const s = await p95Of(async () => {
        rows = (await listOrders(db, l.filter, { limit: 50 })).rows.length;
      });
      listRows.push({ name: l.name, s, rows });
      say(`list first page, ${l.name}: p95 ${round(s.p95)} ms (${rows} rows)`);
    }

    const searches: Array<{ name: string; q: (i: number) => string }> = [
      { name: 'our order number (uuid)', q: (i) => at(sample, i).id },
      { name: 'out_trade_no', q: (i) => at(tradeNos, i).out_trade_no },
      { name: 'transaction_id', q: (i) => at(sample, i).transaction_id! },
      { name: 'refund number', q: (i) => at(refundNos, i).out_refund_no },
      { name: 'checkout token', q: (i) => at(sample, i).token },
      { name: 'amount (¥12.30 style)', q: (i) => `¥${(at(sample, i).amount_fen / 100).toFixed(2)}` },
    ];
    const searchRows: Array<{ name: string; s: ReturnType<typeof summarize> }> = [];
    for (const search of searches) {
      const s = await p95Of(async (i) => {
        const found = await listOrders(db, { q: search.q(i) }, { limit: 50 });
        if (!found.rows.length) throw new Error(`search ${search.name} found nothing for ${search.q(i)}`);
      });
      searchRows.push({ name: search.name, s });
      say(`search by ${search.name}: p95 ${round(s.p95)} ms`);
    }

    const detail = await p95Of(async (i) => {
      const d = await loadOrderDetail(db, at(sample, i).id, { fullPayerId: false });
      if (!d) throw new Error('order detail not found');
    });
    say(`order detail: p95 ${round(detail.p95)} ms`);

    let exportRowsPerS = 0;
    let exportRssMb = 0;
    let exportMs = 0;
    let bytes = 0;
    if (EXPORT) ({ exportRowsPerS, exportRssMb, exportMs, bytes } = await measureExport(db, total));
    if (WRITE)
      writeReport({
        total,
        listRows,
        searchRows,
        detail,
        exportRowsPerS,
        exportRssMb,
        exportMs,
        bytes,
        plans: await explainAll(db, [...lists, ...searches.map((x) => ({ name: `search by ${x.name}`, filter: { q: x.q(0) } }))]),
      });
  } finally {
    await sql.end();
    await pg.stop();
  }
}

/** The export job over every row, as the console's worker runs it, with this process's RSS sampled. */
async function measureExport(db: Db, total: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'scanpay-console-bench-'));
  const [row] = await db.insert(consoleExports).values({ kind: 'orders', filter: {}, createdBy: 'bench' }).returning({ id: consoleExports.id });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 20);
  const [exportMs, outcome] = await time(() => runExport(db, row!.id, { dataDir: dir, maxRows: total + 1, linkHours: 1 }));
  clearInterval(sampler);
  const file = path.join(dir, 'exports', `${row!.id}.csv`);
  const bytes = statSync(file).size;
  rmSync(dir, { recursive: true, force: true });
  const exportRowsPerS = Math.round(total / (exportMs / 1000));
  const exportRssMb = round((rssPeak - rssBefore) / 1024 / 1024);
  say(
    `export: ${outcome}, ${(exportMs / 1000).toFixed(1)} s, ${exportRowsPerS.toLocaleString('en')} rows/s, ${(bytes / 1e6).toFixed(0)} MB, peak extra RSS ${exportRssMb} MB`,
  );

  return { exportRowsPerS, exportRssMb, exportMs, bytes };
}

/** EXPLAIN (ANALYZE, BUFFERS) of each list's first page, captured from the statement listOrders executes. */
async function explainAll(db: Db, lists: Array<{ name: string; filter: OrdersFilter }>): Promise<string[]> {
  const out: string[] = [];
  const dialect = (db as unknown as { dialect: { sqlToQuery(q: SQL): { sql: string; params: unknown[] } } }).dialect;
  for (const l of lists) {
    let statement: { sql: string; params: unknown[] } | undefined;
    const capture = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop !== 'execute') return Reflect.get(target, prop, receiver);
        return async (q: SQL) => {
          statement = dialect.sqlToQuery(q);
          return [];
        };
      },
    });
    await listOrders(capture as Db, l.filter, { limit: 50 }).catch(() => {});
    if (!statement) continue;
    const rows = await db.$client.unsafe<{ 'QUERY PLAN': string }[]>(
      `explain (analyze, buffers, costs off, timing off, summary off) ${statement.sql}`,
      statement.params as never[],
    );
    out.push(`### ${l.name}\n\n\`\`\`\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n\`\`\``);
  }
  return out;
}

interface Report {
  total: number;
  listRows: Array<{ name: string; s: ReturnType<typeof summarize>; rows: number }>;
  searchRows: Array<{ name: string; s: ReturnType<typeof summarize> }>;
  detail: ReturnType<typeof summarize>;
  exportRowsPerS: number;
  exportRssMb: number;
  exportMs: number;
  bytes: number;
  plans: string[];
}

function writeReport(r: Report): void {
  const ok = (pass: boolean) => (pass ? 'yes' : '**no**');
  const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  const cpus = os.cpus();
  const lines = [
    '# Benchmarks: the merchant console at scale',
    '',
    `Written by \`npm run bench:console\` (scripts/bench/console-scale.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC:`,
    `${cpus.length} × ${cpus[0]?.model?.trim() ?? '?'}, load average ${os.loadavg()[0]!.toFixed(2)} at the end, Node ${process.versions.node}.`,
    `${r.total.toLocaleString('en')} orders (attempts, items, timeline events, refunds) in the embedded Postgres; each figure is`,
    `${RUNS} runs after 3 warm-up runs, timed around the domain function the console's tRPC procedure calls (the`,
    'database round trips and the mapping; not the browser, the session check or the network).',
    '',
    '## Orders list, first page (50 rows)',
    '',
    row(['filter', 'rows', 'p50 ms', 'p95 ms', 'max ms', `target p95 < ${TARGETS.listP95} ms`]),
    row(['---', '---:', '---:', '---:', '---:', '---']),
    ...r.listRows.map((l) => row([l.name, l.rows, round(l.s.p50), round(l.s.p95), round(l.s.max), ok(l.s.p95 < TARGETS.listP95)])),
    '',
    '## Search by id (one box)',
    '',
    row(['kind', 'p50 ms', 'p95 ms', 'max ms', `target p95 < ${TARGETS.searchP95} ms`]),
    row(['---', '---:', '---:', '---:', '---']),
    ...r.searchRows.map((l) => row([l.name, round(l.s.p50), round(l.s.p95), round(l.s.max), ok(l.s.p95 < TARGETS.searchP95)])),
    '',
    '## Order detail (order, items, attempts, timeline, notifications, jobs, refunds, audit)',
    '',
    row(['p50 ms', 'p95 ms', 'max ms', `target p95 < ${TARGETS.detailP95} ms`]),
    row(['---:', '---:', '---:', '---']),
    row([round(r.detail.p50), round(r.detail.p95), round(r.detail.max), ok(r.detail.p95 < TARGETS.detailP95)]),
    '',
    '## Export of every order (the console.export job, CSV)',
    '',
    row([
      'rows',
      'seconds',
      'rows/s',
      'file MB',
      'peak extra RSS MB',
      `target ≥ ${TARGETS.exportRowsPerS.toLocaleString('en')} rows/s`,
      `target < ${TARGETS.exportRssMb} MB`,
    ]),
    row(['---:', '---:', '---:', '---:', '---:', '---', '---']),
    row([
      r.total.toLocaleString('en'),
      round(r.exportMs / 1000),
      r.exportRowsPerS.toLocaleString('en'),
      round(r.bytes / 1e6),
      r.exportRssMb,
      ok(r.exportRowsPerS >= TARGETS.exportRowsPerS),
      ok(r.exportRssMb < TARGETS.exportRssMb),
    ]),
    '',
    '## Plans of the list and search queries',
    '',
    'EXPLAIN (ANALYZE, BUFFERS) of each first page above, as drizzle renders it:',
    '',
    ...r.plans.flatMap((p) => [p, '']),
  ];
  const file = path.join(ROOT, 'docs', 'benchmarks-console.md');
  writeFileSync(file, `${lines.join('\n')}\n`);
  say(`wrote ${path.relative(ROOT, file)}`);
}

main().catch((err) => {
  console.error('[console-bench] failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
