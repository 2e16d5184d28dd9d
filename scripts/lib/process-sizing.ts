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
