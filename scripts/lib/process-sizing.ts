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
 * Web processes when WEB_CONCURRENCY is unset: one per core, less the core the job worker and Postgres
 * need (they run beside the web under `npm start`), at least 1 and at most 4. On 2 cores that is 1, and
 * one process there beats two: notify ingestion 0.78 vs 1.05 ms of web CPU per notification, because a
 * single process pipelines more queries per database round trip (docs/benchmarks.md).
 */
export function defaultWebProcesses(cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores - 1, 4));
}

export function webProcesses(env: Record<string, string | undefined> = process.env): number {
  const configured = env.WEB_CONCURRENCY ? Number(env.WEB_CONCURRENCY) : NaN;
  return Number.isInteger(configured) && configured >= 1 ? configured : defaultWebProcesses();
}
