// `npm run bench` (`--quick` for a short run): the hot paths of Scanpay measured against the machine's own
// ceiling, side by side — see docs/benchmarks.md for what each scenario does and the latest figures.
// Options: --quick, --only notify,openloop,paid,checkout,queue, --webs N (WEB_CONCURRENCY), --workers M (default 1 as npm start; 0 = in web process 0),
// --server serve|next (scripts/serve.ts as npm start, or plain `next start`),
// --no-build (use the existing build as is), --rebuild, --no-write / --write, --label TEXT, --verbose,
// --profile (CPU profiles of the app processes + pg_stat_statements per scenario, in .data/bench/),
// --render (rewrite the docs from the last run's .data/bench/results.json, without measuring).
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { assertSupportedNode } from '@/server/runtime';
import { startCluster, ensureBuild, type Cluster } from './lib/cluster';
import { BENCH_DIR, parseOptions, PROFILE_DIR, ROOT } from './lib/config';
import type { Ctx } from './lib/harness';
import { cleanupAll, installSignalHandlers, limitRunTime, wasInterrupted } from './lib/procs';
import { resetStatements, summarizeCpuProfiles, topStatements } from './lib/profile';
import { loadResults, printTables, saveResults, writeDocs, type Machine, type Results } from './lib/report';
import { runCeiling } from './scenarios/ceiling';
import { runCheckout } from './scenarios/checkout';
import { runNotify } from './scenarios/notify';
import { runOpenLoop } from './scenarios/openloop';
import { runPaid } from './scenarios/paid';
import { runQueue } from './scenarios/queue';

const log = (line: string) => console.log(`[bench] ${line}`);

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function machine(cluster: Cluster, loadAvgAtStart: number): Promise<Machine> {
  const row = (await cluster.db.execute<{ v: string }>(sql`select current_setting('server_version') as v`))[0]!;
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? '?',
    memoryMb: Math.round(os.totalmem() / 1024 / 1024),
    loadAvgAtStart,
    node: process.versions.node,
    postgres: String(row.v),
    nextVersion: pkgVersion('next'),
    pgBossVersion: pkgVersion('pg-boss'),
  };
}

/** --render: rewrite docs/benchmarks.* from the last run's saved results (after a change to the report code). */
function render(): never {
  const file = path.join(BENCH_DIR, 'results.json');
  const results = loadResults(file);
  printTables(results);
  const files = writeDocs(results, []);
  log(`rendered ${files.map((f) => path.relative(ROOT, f)).join(', ')} from ${path.relative(ROOT, file)}`);
  process.exit(0);
}

async function main() {
  assertSupportedNode();
  const argv = process.argv.slice(2);
  if (argv.includes('--render')) render();
  const opts = parseOptions(argv);
  installSignalHandlers();
  const startedAt = new Date();
  const loadAvgAtStart = os.loadavg()[0]!; // always [1, 5, 15 minutes]
  limitRunTime('bench', opts.quick ? 10 : 30);

  log(
    `${opts.quick ? 'quick' : 'full'} run: ${[...opts.only].join(', ')}; web: ${opts.server === 'serve' ? `scripts/serve.ts × ${opts.webs}` : `next start × ${opts.webs}`}, ${opts.workers ? `${opts.workers} worker process(es)` : 'worker in web process 0'}; load average ${loadAvgAtStart.toFixed(2)}`,
  );
  if (loadAvgAtStart > 1) log(`note: the machine is already busy (load ${loadAvgAtStart.toFixed(2)} on ${os.cpus().length} cores): figures will be noisy`);
  const distDir = ensureBuild({ rebuild: argv.includes('--no-build') ? 'never' : argv.includes('--rebuild') ? 'always' : 'auto' });

  const bootStarted = Date.now();
  const cluster = await startCluster(opts, distDir);
  log(`system up in ${((Date.now() - bootStarted) / 1000).toFixed(1)} s: web ${cluster.webUrls.join(', ')}, simulator ${cluster.simUrl}`);
  const ctx: Ctx = { opts, cluster, log };
  const results: Results = { opts, machine: await machine(cluster, loadAvgAtStart), startedAt, durationS: 0, distDir };
  const notes: string[] = [];

  const statements: string[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!opts.only.has(name)) return undefined;
    const t = Date.now();
    log(`— ${name} —`);
    if (opts.profile) await resetStatements(cluster);
    const out = await fn();
    if (opts.profile) statements.push(`\n${name}: top statements by total time (pg_stat_statements)\n${await topStatements(cluster)}`);
    log(`${name} done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    return out;
  };

  results.notify = await step('notify', () => runNotify(ctx));
  if (results.notify?.unpaid) notes.push(`${results.notify.unpaid} orders notified during the notify runs were not paid afterwards (see above).`);
  results.ceiling = await step('notify', () => runCeiling(ctx, 64, opts.quick ? 5 : 15));
  results.openLoop = await step('openloop', () => runOpenLoop(ctx));
  results.paid = await step('paid', () => runPaid(ctx));
  results.checkout = await step('checkout', () => runCheckout(ctx));
  results.queue = await step('queue', () => runQueue(ctx));

  results.durationS = (Date.now() - startedAt.getTime()) / 1000;
  printTables(results);
  saveResults(results, path.join(BENCH_DIR, 'results.json'));
  if (opts.write) {
    const files = writeDocs(results, notes);
    log(`wrote ${files.map((f) => path.relative(ROOT, f)).join(', ')}`);
  } else {
    log('docs not written (partial run; pass --write to write them anyway)');
  }
  log(`finished in ${results.durationS.toFixed(0)} s; stopping…`);
  return { statements };
}

main()
  .then(async ({ statements }) => {
    await cleanupAll();
    if (statements.length) {
      // The CPU profiles are written as the processes exit: summarise them now.
      const report = `${statements.join('\n')}\n\nCPU profiles (${PROFILE_DIR})${summarizeCpuProfiles(PROFILE_DIR)}\n`;
      writeFileSync(path.join(BENCH_DIR, 'profile-report.txt'), report);
      console.log(report);
      log(`profile report: ${path.relative(ROOT, path.join(BENCH_DIR, 'profile-report.txt'))}`);
    }
    process.exit(0);
  })
  .catch(async (err) => {
    if (wasInterrupted()) return; // the signal handler is stopping everything and exits
    console.error('\n[bench] failed:', err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanupAll();
    process.exit(1);
  });
