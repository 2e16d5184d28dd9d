// `npm run bench:webhooks` (`--quick` for a short run): webhook delivery measured on what `npm start`
// starts, with 2 worker processes — outbox → first attempt latency at 100 and 500 payments/s, delivery
// throughput to a local receiver, and the notify path with and without webhook endpoints. Writes
// docs/benchmarks-webhooks.md. Options: --quick, --workers N (default 2), --no-build, --no-write, --verbose,
// --render (rewrite the doc from the last run's .data/bench/webhooks-results.json, without measuring),
// --leg throughput (the throughput legs alone, nothing written), --leg notify [--pairs N] (the notify pairs
// alone, with CPU per request of each part, nothing written), --profile (with --leg: pg_stat_statements
// and the workers' CPU profiles of the throughput legs, printed), --slow-endpoint-ms N (with --leg: one more
// 8-endpoint leg where one endpoint answers after N ms, counting the other endpoints' deliveries).
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadEnv } from '@/server/env';
import { assertSupportedNode } from '@/server/runtime';
import { ensureBuild, startCluster } from './lib/cluster';
import { BENCH_DIR, optionValue, parseOptions, PROFILE_DIR, ROOT } from './lib/config';
import { warmUp, type Ctx } from './lib/harness';
import { resetStatements, summarizeCpuProfiles, topStatements } from './lib/profile';
import { cleanupAll, installSignalHandlers, limitRunTime, wasInterrupted } from './lib/procs';
import { Receiver } from './lib/receiver';
import { writeWebhookDoc, type WebhookResults } from './lib/webhooks-report';
import { runWebhookLatency } from './scenarios/webhooks-latency';
import { runWebhookNotify } from './scenarios/webhooks-notify';
import { runWebhookThroughput } from './scenarios/webhooks-throughput';

const RESULTS = path.join(BENCH_DIR, 'webhooks-results.json');
const log = (line: string) => console.log(`[bench:webhooks] ${line}`);

function plan(quick: boolean) {
  return quick
    ? {
        warmup: 150,
        notify: { pairs: 2, requests: 600, endpoints: 1 },
        latency: [
          { rate: 100, seconds: 3 },
          { rate: 500, seconds: 2 },
        ],
        graceMs: 10_000,
        throughput: { endpoints: 8, deliveries: 800, capMs: 15_000 },
        single: { endpoints: 1, deliveries: 200, capMs: 8_000 },
      }
    : {
        warmup: 1000,
        notify: { pairs: 4, requests: 3000, endpoints: 1 },
        latency: [
          { rate: 100, seconds: 10 },
          { rate: 500, seconds: 6 },
        ],
        graceMs: 30_000,
        throughput: { endpoints: 8, deliveries: 10_000, capMs: 60_000 },
        single: { endpoints: 1, deliveries: 2000, capMs: 20_000 },
      };
}

async function main(): Promise<void> {
  assertSupportedNode();
  const argv = process.argv.slice(2);
  if (argv.includes('--render')) {
    const saved = JSON.parse(readFileSync(RESULTS, 'utf8')) as WebhookResults;
    log(`rendered ${path.relative(ROOT, writeWebhookDoc(saved))} from ${path.relative(ROOT, RESULTS)}`);
    return;
  }
  const opts = parseOptions([...argv, '--workers', '2']);
  const only = optionValue(argv, 'leg');
  if (only && only !== 'throughput' && only !== 'notify') throw new Error(`--leg takes "throughput" or "notify", not ${only}`);
  const slowOption = optionValue(argv, 'slow-endpoint-ms');
  const slowMs = slowOption === undefined ? 0 : Number(slowOption);
  if (slowOption !== undefined && (only !== 'throughput' || !Number.isInteger(slowMs) || slowMs <= 0))
    throw new Error(`--slow-endpoint-ms takes a whole number of milliseconds above 0, with --leg throughput (got ${slowOption})`);
  const p = plan(opts.quick);
  installSignalHandlers();
  const startedAt = new Date();
  const loadAvgAtStart = os.loadavg()[0]!;
  limitRunTime('bench:webhooks', opts.quick ? 6 : 15);
  log(`${opts.quick ? 'quick' : 'full'} run; ${opts.webs} web process(es), ${opts.workers} worker processes; load average ${loadAvgAtStart.toFixed(2)}`);
  const distDir = ensureBuild({ rebuild: argv.includes('--no-build') ? 'never' : 'auto' });
  const cluster = await startCluster(opts, distDir);
  const ctx: Ctx = { opts, cluster, log };
  const receiver = await Receiver.start(opts.verbose);
  const env = loadEnv({ ...process.env, ...cluster.env });
  log(`system up: web ${cluster.webUrls.join(', ')}, receiver ${receiver.base}`);

  await warmUp(
    ctx,
    cluster.webUrls,
    cluster.webs.map((m) => m.child.pid),
    p.warmup,
  );
  if (only === 'notify') {
    const pairs = Number(optionValue(argv, 'pairs') ?? p.notify.pairs);
    if (!Number.isInteger(pairs) || pairs < 1) throw new Error(`--pairs takes a whole number above 0`);
    const measured = await runWebhookNotify(ctx, receiver, { ...p.notify, pairs, profile: opts.profile });
    log(`rps ratios ${measured.map((m) => m.rpsRatio).join(', ')}; p99 ratios ${measured.map((m) => m.p99Ratio).join(', ')}`);
    await receiver.stop();
    return;
  }
  if (only === 'throughput') {
    if (opts.profile) await resetStatements(cluster);
    for (const leg of [p.throughput, p.single]) await runWebhookThroughput(ctx, receiver, { ...leg, workers: opts.workers });
    if (slowMs) await runWebhookThroughput(ctx, receiver, { ...p.throughput, capMs: 30_000, workers: opts.workers, slowMs });
    if (opts.profile) {
      log(`top statements by total time:\n${await topStatements(cluster, 20)}`);
      await cluster.stopWorkers();
      log(`CPU profiles (${PROFILE_DIR})${summarizeCpuProfiles(PROFILE_DIR)}`);
    }
    await receiver.stop();
    return;
  }
  log('— notify with and without webhook endpoints —');
  const notify = await runWebhookNotify(ctx, receiver, p.notify);
  log('— outbox → first attempt —');
  const latency = await runWebhookLatency(ctx, receiver, p.latency, p.graceMs);
  log('— delivery throughput —');
  const throughput = [
    await runWebhookThroughput(ctx, receiver, { ...p.throughput, workers: opts.workers }),
    await runWebhookThroughput(ctx, receiver, { ...p.single, workers: opts.workers }),
  ];

  const results: WebhookResults = {
    quick: opts.quick,
    startedAt: startedAt.toISOString(),
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    loadAvgAtStart,
    cores: os.cpus().length,
    settings: {
      'web processes (WEB_CONCURRENCY)': opts.webs,
      workers: opts.workers,
      WEBHOOK_WORKER_CONCURRENCY: env.WEBHOOK_WORKER_CONCURRENCY,
      WEBHOOK_ENDPOINT_CONCURRENCY: env.WEBHOOK_ENDPOINT_CONCURRENCY,
      OUTBOX_RELAY_INTERVAL_MS: env.OUTBOX_RELAY_INTERVAL_MS,
      WEBHOOK_TIMEOUT_MS: env.WEBHOOK_TIMEOUT_MS,
      BACKLOG_DEFER_MS: env.BACKLOG_DEFER_MS,
      notifyEndpoints: p.notify.endpoints,
      'notify requests per run': p.notify.requests,
      'latency grace (s)': p.graceMs / 1000,
      'throughput time cap (s)': `${p.throughput.capMs / 1000} (8 endpoints), ${p.single.capMs / 1000} (1 endpoint)`,
      'signature sample': 'every 50th request, standardwebhooks 1.1.1',
    },
    latency,
    throughput,
    notify,
  };
  writeFileSync(RESULTS, JSON.stringify(results, null, 2));
  if (!argv.includes('--no-write')) log(`wrote ${path.relative(ROOT, writeWebhookDoc(results))}`);
  log(`finished in ${results.durationS.toFixed(0)} s; stopping…`);
  await receiver.stop();
}

main()
  .then(async () => {
    await cleanupAll();
    process.exit(0);
  })
  .catch(async (err) => {
    if (wasInterrupted()) return;
    console.error('\n[bench:webhooks] failed:', err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanupAll();
    process.exit(1);
  });
