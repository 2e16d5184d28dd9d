// `npm run bench:stats` (`--quick` for a 1–2 minute run): the statistics rollups on what `npm start` starts.
// 1. Rollup lag behind the payment at 100 and 500 payments/s (scenarios/stats-lag.ts).
// 2. The notify path with the statistics consumer on and off (STATS_ROLLUP_CONSUMER), in the same run,
//    alternating: closed loop at concurrency 64, the worker restarted with the setting between runs.
// Writes docs/benchmarks-stats.md (unless --no-write) and .data/bench/stats-results.json.
// Options: --render (the doc from the saved results, without measuring), --lag-only (the lag legs, logged only), --quick, --pairs N (default 2 quick, 3 full), --no-write, --verbose, --webs N, --workers M (≥ 1).
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QUEUE } from '@/server/queue/catalogue';
import { assertSupportedNode } from '@/server/runtime';
import { ensureBuild, startCluster } from './lib/cluster';
import { BENCH_DIR, optionValue, parseOptions, ROOT } from './lib/config';
import { runLoad, waitForDrain, type Ctx } from './lib/harness';
import { createOrders } from './lib/orders';
import { cleanupAll, installSignalHandlers, limitRunTime, wasInterrupted } from './lib/procs';
import { round } from './lib/stats';
import { type LagRow, runStatsLag } from './scenarios/stats-lag';

const log = (line: string) => console.log(`[bench:stats] ${line}`);
const TARGET_LAG_P99_MS = 2000;
const CONCURRENCY = 64;

interface NotifyRun {
  consumer: boolean;
  pair: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  drainMs: number;
  /** stats.rollup jobs created during the run and its drain: none when the consumer is off. */
  rollupJobs: number;
}

async function setConsumer(ctx: Ctx, on: boolean): Promise<void> {
  const { cluster } = ctx;
  const n = cluster.workers.length;
  await cluster.stopWorkers();
  // The launcher spawns from this environment object: the next workers read the setting from it.
  cluster.env.STATS_ROLLUP_CONSUMER = on ? 'true' : 'false';
  await cluster.startWorkers(n);
  // A fresh worker is cold: warm it on the same path before measuring.
  const warm = await createOrders(cluster.db, ctx.opts.quick ? 200 : 600);
  await runLoad(ctx, { mode: 'closed', targets: cluster.webUrls, orders: warm, connections: 16, timeoutMs: 30_000 });
  await waitForDrain(ctx);
}

async function runPairs(ctx: Ctx, pairs: number): Promise<NotifyRun[]> {
  const runs: NotifyRun[] = [];
  const n = ctx.opts.quick ? 1200 : 3000;
  for (let pair = 1; pair <= pairs; pair++) {
    // Alternate which goes first, so a drift over the run does not favour one side.
    const order = pair % 2 ? [true, false] : [false, true];
    for (const consumer of order) {
      await setConsumer(ctx, consumer);
      const orders = await createOrders(ctx.cluster.db, n);
      const [t0] = await ctx.cluster.sql<{ t: Date }[]>`select now() as t`;
      const out = await runLoad(ctx, { mode: 'closed', targets: ctx.cluster.webUrls, orders, connections: CONCURRENCY, timeoutMs: 30_000 });
      const drainMs = await waitForDrain(ctx);
      const [jobs] = await ctx.cluster.sql<{ n: string }[]>`
        select count(*) as n from pgboss.job where name = ${QUEUE.statsRollup} and created_on >= ${t0!.t}`;
      const r: NotifyRun = {
        consumer,
        pair,
        requests: out.completed,
        rps: out.rps,
        p50: out.latency.p50,
        p99: out.latency.p99,
        non2xx: out.non2xx + out.errors,
        drainMs,
        rollupJobs: Number(jobs!.n),
      };
      if (!consumer && r.rollupJobs) throw new Error(`consumer off, yet ${r.rollupJobs} stats.rollup jobs were created: the setting did not reach the worker`);
      runs.push(r);
      log(
        `notify c${CONCURRENCY} consumer ${consumer ? 'on ' : 'off'} (pair ${pair}): ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} ms, non-2xx ${r.non2xx}, drain ${(drainMs / 1000).toFixed(1)} s, stats.rollup jobs ${r.rollupJobs}`,
      );
    }
  }
  await setConsumer(ctx, true);
  return runs;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

function render(r: {
  lag: LagRow[];
  runs: NotifyRun[];
  loadAvg: number;
  quick: boolean;
  startedAt: Date;
  durationS: number;
  webs: number;
  workers: number;
}): string {
  const ms = (v: number) => `${round(v)} ms`;
  const side = (on: boolean) => r.runs.filter((x) => x.consumer === on);
  const rpsOn = median(side(true).map((x) => x.rps));
  const rpsOff = median(side(false).map((x) => x.rps));
  const p99On = median(side(true).map((x) => x.p99));
  const p99Off = median(side(false).map((x) => x.p99));
  // The target holds at 500/s however full the hour: the worst 500/s leg.
  const at500 = r.lag.filter((x) => x.rate === 500).sort((a, b) => b.p99 - a.p99)[0];
  const rpsDelta = (rpsOn - rpsOff) / rpsOff;
  // "Unchanged": within the spread the same setting shows between its own runs, and never more than 10 %.
  const spread = (xs: number[]) => (xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : 0);
  const noise = Math.max(spread(side(true).map((x) => x.rps)), spread(side(false).map((x) => x.rps)));
  // Within 10 % on a quiet run; a difference inside the noise of one setting's own runs proves nothing.
  const verdict = noise > 0.1 ? (Math.abs(rpsDelta) > noise ? '❌' : '⚠️ too noisy to tell') : Math.abs(rpsDelta) <= 0.1 ? '✅' : '❌';
  const tick = (ok: boolean) => (ok ? '✅' : '❌');
  const lines = [
    '# Benchmarks: statistics rollups',
    '',
    `Written by \`npm run bench:stats${r.quick ? ' -- --quick' : ''}\` (scripts/bench/stats.ts) on ${r.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `${os.cpus().length} cores, load average ${r.loadAvg.toFixed(2)} at the start; ${r.durationS.toFixed(0)} s. ` +
      `What \`npm start\` starts: scripts/serve.ts × ${r.webs}, ${r.workers} worker process(es), embedded Postgres, the simulator.` +
      (r.quick ? ' **Quick run: short, figures indicative only.**' : ''),
    '',
    '## Targets',
    '',
    '| Target | Measured | |',
    '|---|---|---|',
    `| Rollup lag p99 < 2 s at 500 payments/s | ${at500 ? ms(at500.p99) : '—'} | ${tick(!!at500 && at500.p99 < TARGET_LAG_P99_MS && at500.lost === 0)} |`,
    `| Notify c${CONCURRENCY} unchanged by the statistics consumer (median req/s on vs off) | ${rpsOn.toFixed(0)} vs ${rpsOff.toFixed(0)} req/s (${(rpsDelta * 100).toFixed(1)} %; runs of one setting differ by up to ${(noise * 100).toFixed(1)} %) | ${verdict} |`,
    '',
    '## Rollup lag behind the payment',
    '',
    'Real signed, encrypted paid notifications for real orders, sent open-loop at a fixed rate to the notify endpoint. ' +
      "For each payment: from its `payment.succeeded` outbox event (written in the transaction that marks the order paid) until the dashboard's totals " +
      '(`stats_daily`, folded from `stats_hourly`, folded from the one-minute `stats_slices` the `stats.rollup` consumer of the outbox recomputes) count it. A poller reads the total paid count on the ' +
      "database's clock; the k-th payment (by event id) is counted once the total reaches k. Resolution: the poll interval. " +
      'The last leg first seeds paid orders into the current hour (SQL, at up to 500/s over the minutes up to two minutes before the leg, rolled up before the leg starts): ' +
      '"Paid in the hour" is what the hour held when the leg started.',
    '',
    '| Payments/s | Seconds | Paid in the hour | Payments | Counted | p50 | p99 | max | Relay p50 | Notify p99 | Non-2xx | Poll every |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.lag.map(
      (x) =>
        `| ${x.rate} | ${x.seconds} | ${x.hourPaid ?? '—'} | ${x.payments} | ${x.counted} | ${ms(x.p50)} | ${ms(x.p99)} | ${ms(x.max)} | ${ms(x.relayP50)} | ${ms(x.notifyP99)} | ${x.non2xx} | ${ms(x.pollMs)} |`,
    ),
    '',
    '## Notify path with the statistics consumer on and off',
    '',
    `Closed loop, ${CONCURRENCY} connections, distinct notifications for real orders; the worker restarted with \`STATS_ROLLUP_CONSUMER\` ` +
      'between runs (and warmed), the two settings alternating, in one run. Drain: until the worker processed every notification.',
    '',
    '| Pair | Consumer | Requests | req/s | p50 | p99 | Non-2xx | Drain | stats.rollup jobs |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.runs.map(
      (x) =>
        `| ${x.pair} | ${x.consumer ? 'on' : 'off'} | ${x.requests} | ${x.rps.toFixed(0)} | ${ms(x.p50)} | ${ms(x.p99)} | ${x.non2xx} | ${(x.drainMs / 1000).toFixed(1)} s |`,
    ),
    `| median | on | | ${rpsOn.toFixed(0)} | | ${ms(p99On)} | | | |`,
    `| median | off | | ${rpsOff.toFixed(0)} | | ${ms(p99Off)} | | | |`,
    '',
  ];
  return lines.join('\n');
}

const DOC = path.join(ROOT, 'docs', 'benchmarks-stats.md');
const SAVED = path.join(BENCH_DIR, 'stats-results.json');

/** --render: rewrite the doc from the last run's saved results (after a change to the report). */
function renderSaved(): void {
  const saved = JSON.parse(readFileSync(SAVED, 'utf8'));
  writeFileSync(DOC, render({ ...saved, startedAt: new Date(saved.startedAt) }));
  log(`rendered ${path.relative(ROOT, DOC)} from ${path.relative(ROOT, SAVED)}`);
}

async function main() {
  assertSupportedNode();
  const argv = process.argv.slice(2);
  if (argv.includes('--render')) return renderSaved();
  const opts = parseOptions(argv.filter((a) => a !== '--no-write' && a !== '--lag-only'));
  if (opts.workers < 1) throw new Error('--workers must be at least 1 (the consumer is switched by restarting the worker)');
  const pairsValue = optionValue(argv, 'pairs');
  const pairs = pairsValue !== undefined ? Number(pairsValue) : opts.quick ? 2 : 3;
  if (!Number.isInteger(pairs) || pairs < 2 || pairs > 10) throw new Error('--pairs must be 2..10');
  installSignalHandlers();
  const startedAt = new Date();
  const loadAvg = os.loadavg()[0]!;
  limitRunTime('bench:stats', opts.quick ? 8 : 25);
  log(`${opts.quick ? 'quick' : 'full'} run, ${pairs} pairs; load average ${loadAvg.toFixed(2)}`);
  const distDir = ensureBuild({ rebuild: argv.includes('--no-build') ? 'never' : argv.includes('--rebuild') ? 'always' : 'auto' });
  const cluster = await startCluster(opts, distDir);
  log(`system up: web ${cluster.webUrls.join(', ')}`);
  const ctx: Ctx = { opts, cluster, log };
  const lag = await runStatsLag(ctx);
  if (argv.includes('--lag-only')) return; // the lag rows are in the log; nothing written
  const runs = await runPairs(ctx, pairs);
  const result = {
    lag,
    runs,
    loadAvg,
    quick: opts.quick,
    startedAt,
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    webs: opts.webs,
    workers: opts.workers,
  };
  writeFileSync(SAVED, JSON.stringify(result, null, 2));
  const md = render(result);
  console.log(`\n${md}`);
  if (!argv.includes('--no-write')) {
    writeFileSync(DOC, md);
    log(`wrote ${path.relative(ROOT, DOC)}`);
  }
}

main()
  .then(async () => {
    await cleanupAll();
    process.exit(0);
  })
  .catch(async (err) => {
    if (wasInterrupted()) return;
    console.error('\n[bench:stats] failed:', err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanupAll();
    process.exit(1);
  });
