// Where the benchmark lives: its own ports, data dir and build, away from `npm run dev` (3000/3100/54329)
// and the test suites (3210-3242, 54339-54379), so it can run while other work goes on.
import { webProcesses } from '../../lib/process-sizing';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const NODE = process.execPath;
export const NEXT_BIN = path.join(ROOT, 'node_modules/next/dist/bin/next');

export const BENCH_DIR = path.join(ROOT, '.data', 'bench');
export const TMP_DIR = path.join(BENCH_DIR, 'tmp');
export const PROFILE_DIR = path.join(BENCH_DIR, 'profiles');
export const CREDENTIALS_FILE = path.join(BENCH_DIR, 'simulator', 'credentials.json');

/** BENCH_PORT_OFFSET moves every port, so two benchmarks (from two checkouts) can run side by side. */
const PORT_OFFSET = Number(process.env.BENCH_PORT_OFFSET ?? 0);
if (!Number.isInteger(PORT_OFFSET) || PORT_OFFSET < 0 || PORT_OFFSET > 1000) throw new Error('BENCH_PORT_OFFSET must be an integer 0..1000');

export const PORTS = {
  pg: 54400 + PORT_OFFSET,
  sim: 3310 + PORT_OFFSET,
  /** Web processes take consecutive ports from here. */
  web: 3300 + PORT_OFFSET,
  baseline: 3320 + PORT_OFFSET,
  /** The webhook benchmark's receiver (scripts/bench/webhook-receiver.ts). */
  receiver: 3325 + PORT_OFFSET,
} as const;

export const DIST_DIR = '.next-bench';

export interface BenchOptions {
  quick: boolean;
  /**
   * Web processes. `serve` (default, what `npm start` runs): scripts/serve.ts, a Node cluster of
   * WEB_CONCURRENCY processes on one port (default: as npm start, one per core, 1..4) with the notify endpoint on
   * node:http. `next`: plain `next start` processes on consecutive ports (the Next route handler), load
   * spread round-robin by the load generators.
   */
  webs: number;
  server: 'serve' | 'next';
  /**
   * Separate `scripts/worker.ts` processes, web with RUN_WORKER=false; 1 (default) as `npm start` runs it.
   * 0 = the worker inside web process 0 (as `scripts/serve.ts` run directly does): note the asymmetry then —
   * during Scanpay's runs the worker shares Next's event loop, during the baseline's it runs on the other core.
   */
  workers: number;
  /** Scenarios to run (all by default). */
  only: Set<string>;
  verbose: boolean;
  /** CPU profiles of web/worker/baseline (--cpu-prof) and pg_stat_statements per scenario. */
  profile: boolean;
  /** Write docs/benchmarks.{json,md,svg} (off for partial runs unless asked). */
  write: boolean;
  /** Extra label for docs (e.g. "before"/"after"). */
  label?: string;
}

export const SCENARIOS = ['notify', 'openloop', 'paid', 'checkout', 'queue'] as const;

export function parseOptions(argv: string[]): BenchOptions {
  const get = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    const a = argv[i]!;
    return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  };
  const has = (name: string) => argv.includes(`--${name}`);
  const onlyRaw = get('only');
  const only = new Set<string>(onlyRaw ? onlyRaw.split(',') : SCENARIOS);
  for (const s of only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario ${s} (${SCENARIOS.join(', ')})`);
  const server = (get('server') ?? 'serve') as BenchOptions['server'];
  // One launcher for the benchmark and the system tests runs what `npm start` runs (scripts/lib/cluster.ts);
  // `next` stays in the type for the reports of earlier runs.
  if (server !== 'serve') throw new Error('--server: only serve (what npm start runs) is supported');
  const webs = Number(get('webs') ?? process.env.BENCH_WEBS ?? webProcesses());
  const workers = Number(get('workers') ?? process.env.BENCH_WORKERS ?? 1);
  if (!Number.isInteger(webs) || webs < 1 || webs > 4) throw new Error('--webs must be 1..4');
  if (!Number.isInteger(workers) || workers < 0 || workers > 4) throw new Error('--workers must be 0..4');
  return {
    quick: has('quick'),
    webs,
    server,
    workers,
    only,
    verbose: has('verbose'),
    profile: has('profile'),
    write: has('no-write') ? false : onlyRaw === undefined || has('write'),
    label: get('label'),
  };
}

/** Counts and durations: everything bounded. */
export function sizes(quick: boolean) {
  return quick
    ? {
        notifyWarmup: 150,
        // c256 needs several requests per connection to measure more than its ramp (600 gave 2-3 each).
        notify: { 1: 100, 16: 600, 64: 1200, 256: 2000 },
        openLoop: { rate: 300, seconds: 3 },
        paid: { 10: 3, 100: 3, 500: 2 }, // seconds per rate
        paidMaxSubscribers: 500,
        checkoutCreates: 20,
        checkoutPages: 6,
        queueJobs: 1500,
      }
    : {
        notifyWarmup: 1000,
        notify: { 1: 500, 16: 3000, 64: 3000, 256: 3000 },
        openLoop: { rate: 300, seconds: 10 },
        paid: { 10: 15, 100: 10, 500: 6 },
        paidMaxSubscribers: 1500,
        checkoutCreates: 100,
        checkoutPages: 30,
        queueJobs: 5000,
      };
}

/** The value after `--name` on a command line (`--orders 1000`), or undefined when the option is absent. */
export function optionValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
