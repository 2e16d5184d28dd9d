// How big and how many: the long-running processes' heap limits and the number of web processes.
// `npm start` (scripts/start.ts, scripts/serve.ts) and the benchmark both read these, so the benchmark
// measures what `npm start` runs; `npm run worker` has the worker flags in package.json (a unit test keeps
// the two equal).
import { availableParallelism } from 'node:os';

// Node otherwise sizes its heap for the whole machine (GBs on a large box) and grows it lazily; these
// processes need far less. Measured with `npm run bench`: no throughput cost, peak RSS about half.
export const WEB_HEAP_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=256'] as const;
export const WORKER_HEAP_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=192'] as const;

/**
 * Web processes when WEB_CONCURRENCY is unset: one per core, at most 4. Measured on 2 cores with the worker
 * and Postgres beside them (docs/benchmarks.md): one process ingests notifications a little cheaper, but
 * live status for 1,500 shoppers at 500 payments/s saturates its single core (notify → paid p99 0.4–0.9 s,
 * WeChat acknowledged after up to 4.5 s); two processes keep it at 130 ms and 76 ms.
 */
export function defaultWebProcesses(cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, 4));
}

/**
 * postgres.js pool of each web process when `npm start` runs several (DB_POOL_MAX overrides). Small on
 * purpose: postgres.js pipelines queries on a connection, and fewer busy Postgres backends contend less
 * for the cores. Measured on 2 cores (docs/benchmarks.md): 4 instead of 8 halved Postgres CPU per
 * notification at 64 concurrent (2.6 → 1.24 ms) and raised ingestion from 628 to 827 notifications/s.
 */
export const WEB_DB_POOL_PER_PROCESS = 4;

export function webProcesses(env: Record<string, string | undefined> = process.env): number {
  const configured = env.WEB_CONCURRENCY ? Number(env.WEB_CONCURRENCY) : NaN;
  return Number.isInteger(configured) && configured >= 1 ? configured : defaultWebProcesses();
}

/** Environment of web cluster process `index` under scripts/serve.ts. */
export function webProcessEnv(index: number, parent: Record<string, string | undefined> = process.env): Record<string, string> {
  return {
    WEB_PROCESS_INDEX: String(index),
    SCANPAY_PROCESS_NAME: `scanpay-web${index}`,
    RUN_WORKER: index === 0 ? (parent.RUN_WORKER ?? 'true') : 'false',
    // Several processes share one Postgres: keep each pool modest (see docs/operations.md).
    DB_POOL_MAX: parent.DB_POOL_MAX ?? String(WEB_DB_POOL_PER_PROCESS),
    PGBOSS_POOL_MAX: parent.PGBOSS_POOL_MAX ?? (index === 0 && parent.RUN_WORKER !== 'false' ? '4' : '2'),
  };
}

/**
 * The Node arguments of the long-running processes, as `npm start` / `npm run dev` (scripts/start.ts) and
 * the test and benchmark launcher (scripts/lib/cluster.ts) spawn them: one definition, so the tests and
 * the benchmark run what users run.
 */
export function webArgs(mode: 'dev' | 'start', heapFlags: readonly string[] = WEB_HEAP_FLAGS): string[] {
  // dev: Next compiles on demand and needs more than the production heap limit.
  return mode === 'dev' ? ['--import', 'tsx', 'scripts/serve.ts', '--dev'] : [...heapFlags, '--import', 'tsx', 'scripts/serve.ts'];
}

export function workerArgs(heapFlags: readonly string[] = WORKER_HEAP_FLAGS): string[] {
  return [...heapFlags, '--import', 'tsx', 'scripts/worker.ts'];
}
