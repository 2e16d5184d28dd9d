// The system under test for the benchmark: the shared launcher (scripts/lib/cluster.ts, the one the system
// tests use: what `npm start` starts) on the benchmark's own ports, data dir and build — plus the benchmark's
// own parts: its build, pg_stat_statements for --profile, per-process profiling flags, and the bare
// node:http baseline server, started only for its own runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createDb } from '@/db/client';
import type { SimCredentials } from '@/simulator/credentials';
import { launch, waitUntil, httpOk } from '../../lib/cluster';
import { BENCH_DIR, DIST_DIR, NEXT_BIN, NODE, PORTS, PROFILE_DIR, ROOT, TMP_DIR, type BenchOptions } from './config';
import { onCleanup, spawnManaged, stopManaged, track, type Managed } from './procs';
import { WEB_DB_POOL_PER_PROCESS, WEB_HEAP_FLAGS } from '../../lib/process-sizing';

// BENCH_HEAP_FLAGS=off runs without `npm start`'s heap flags (an experiment).
const heapFlagsOff = process.env.BENCH_HEAP_FLAGS === 'off';

const say = (line: string) => console.log(`[bench] ${line}`);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------------
// Production build: our own dist dir, rebuilt when older than the sources.

const SOURCE_ROOTS = ['app', 'server', 'db', 'i18n', 'messages', 'public', 'next.config.ts', 'instrumentation.ts', 'package.json', 'postcss.config.mjs'];

function newestMtime(p: string): number {
  const full = path.join(ROOT, p);
  if (!existsSync(full)) return 0;
  const st = statSync(full);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(full)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

function buildTime(distDir: string): number {
  const id = path.join(ROOT, distDir, 'BUILD_ID');
  return existsSync(id) ? statSync(id).mtimeMs : 0;
}

/** `next build` adds its dist dir's types to tsconfig.json's include: take exactly those lines out again. */
function restoreTsconfig(): void {
  const file = path.join(ROOT, 'tsconfig.json');
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const kept = lines.filter((l) => !new RegExp(`^\\s*"${DIST_DIR.replace('.', '\\.')}/[^"]*",?\\s*$`).test(l));
  if (kept.length === lines.length) return;
  for (let i = 1; i < kept.length; i++) {
    if (/^\s*\]/.test(kept[i] ?? '') && /,\s*$/.test(kept[i - 1] ?? '')) kept[i - 1] = (kept[i - 1] ?? '').replace(/,\s*$/, '');
  }
  writeFileSync(file, kept.join('\n'));
}

/** Returns the dist dir to run: ours, rebuilt first when older than the sources. */
export function ensureBuild(opts: { rebuild: 'auto' | 'never' | 'always' }): string {
  const sources = SOURCE_ROOTS.reduce((t, p) => Math.max(t, newestMtime(p)), 0);
  const ours = buildTime(DIST_DIR);
  if (opts.rebuild === 'never' || (opts.rebuild === 'auto' && ours > sources)) {
    if (!ours) throw new Error(`no build in ${DIST_DIR}/ (run without --no-build)`);
    say(`using the production build in ${DIST_DIR}/ (${ours > sources ? 'newer than the sources' : 'possibly stale: --no-build'})`);
    return DIST_DIR;
  }
  // Not .next-test/: `npm test` rebuilds it in place, which would pull the files from under a running benchmark.
  say(`building into ${DIST_DIR}/ (${ours ? 'older than the sources' : 'missing'}) — about a minute…`);
  const started = Date.now();
  // Compile, then generate: a full production build minus `next build`'s project-wide type check, which
  // is `npm run typecheck`'s job and must not stop a benchmark over a type error in someone's test file.
  for (const mode of ['compile', 'generate']) {
    const result = spawnSync(NODE, [NEXT_BIN, 'build', `--experimental-build-mode=${mode}`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NEXT_DIST_DIR: DIST_DIR, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production', WECHATPAY_MODE: 'simulator' },
    });
    restoreTsconfig();
    if (result.status !== 0) {
      const out = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-25).join('\n');
      if (ours) {
        say(`next build (${mode}) failed; falling back to the previous (stale) build in ${DIST_DIR}/:\n${out}`);
        return DIST_DIR;
      }
      throw new Error(`next build (${mode}) failed:\n${out}`);
    }
  }
  say(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return DIST_DIR;
}

// ---------------------------------------------------------------------------------------------------

export interface Cluster {
  databaseUrl: string;
  simUrl: string;
  webUrls: string[];
  baselineUrl: string;
  credentials: SimCredentials;
  db: ReturnType<typeof createDb>['db'];
  sql: ReturnType<typeof createDb>['sql'];
  readonly webs: Managed[];
  readonly workers: Managed[];
  baseline?: Managed;
  postgresPid(): number | null;
  /** Starts `n` separate worker processes (in addition to any running). */
  startWorkers(n: number): Promise<Managed[]>;
  stopWorkers(): Promise<void>;
  startWebs(runWorker: boolean): Promise<void>;
  stopWebs(): Promise<void>;
  /** `ingest`: the bare server doing Scanpay's notify ingestion; `inline`: the peer design (scripts/bench/peer-server.ts). */
  startBaseline(kind?: 'ingest' | 'inline'): Promise<Managed>;
  stopBaseline(): Promise<void>;
  /** The environment every app process gets. */
  env: Record<string, string>;
}

export async function startCluster(opts: BenchOptions, distDir: string): Promise<Cluster> {
  // One scripts/serve.ts on one port with WEB_CONCURRENCY processes, as `npm start` runs it.
  for (const port of [PORTS.pg, PORTS.sim, PORTS.baseline, PORTS.web]) {
    if (!(await portFree(port))) throw new Error(`port ${port} is in use: stop whatever uses it (a previous benchmark?) and retry`);
  }
  // --profile: a V8 CPU profile per app process, written when it exits (PROFILE_DIR/<label>/).
  // BENCH_NODE_OPTIONS: extra Node flags for web and worker processes (experiments, e.g. --max-old-space-size=256).
  // BENCH_WEB_NODE_OPTIONS / BENCH_WORKER_NODE_OPTIONS: the same, for one kind of process only.
  const extraNodeOptions = process.env.BENCH_NODE_OPTIONS ?? '';
  const nodeOptions = (label: string): Record<string, string> => {
    const kind = label.startsWith('web') ? process.env.BENCH_WEB_NODE_OPTIONS : label.startsWith('worker') ? process.env.BENCH_WORKER_NODE_OPTIONS : undefined;
    const flags = [process.env.NODE_OPTIONS ?? '', extraNodeOptions, kind ?? ''];
    if (opts.profile) flags.push(`--cpu-prof --cpu-prof-dir=${path.join(PROFILE_DIR, label)} --import ${path.join(ROOT, 'scripts/bench/memory-probe.mjs')}`);
    const value = flags.join(' ').trim();
    return { ...(value ? { NODE_OPTIONS: value } : {}), ...(opts.profile ? { BENCH_MEMORY_DIR: path.join(PROFILE_DIR, label) } : {}) };
  };

  // Pool sizes stay at the app's defaults (DB_POOL_MAX 10, PGBOSS_POOL_MAX 6) unless the caller set them.
  const env: Record<string, string> = {
    // The benchmark creates thousands of orders from one IP, and its orders must not be actively queried
    // while it runs (first query at +5 s × 100): both are configuration, not code paths under test.
    CHECKOUT_RATE_LIMIT_PER_MINUTE: '100000',
    COMPENSATION_TIME_SCALE: '100',
    ...(process.env.BENCH_DB_POOL_MAX ? { DB_POOL_MAX: process.env.BENCH_DB_POOL_MAX } : {}),
    ...(process.env.BENCH_PGBOSS_POOL_MAX ? { PGBOSS_POOL_MAX: process.env.BENCH_PGBOSS_POOL_MAX } : {}),
  };
  const inherited = { ...process.env };
  delete process.env.PGBOSS_POOL_MAX;
  delete process.env.DB_POOL_MAX;
  // A fresh database every run: figures must not depend on what an earlier run left behind.
  const l = await launch({
    dataDir: BENCH_DIR,
    pgPort: PORTS.pg,
    simPort: PORTS.sim,
    webPorts: [PORTS.web],
    webConcurrency: opts.webs,
    workers: opts.workers,
    distDir,
    env,
    echo: opts.verbose,
    heapFlags: !heapFlagsOff,
    perProcessEnv: nodeOptions,
    poolMax: 12,
    preparePostgres: opts.profile
      ? async (pg, restart) => {
          // pg_stat_statements must be preloaded: set it, restart, create the extension.
          const admin = createDb(pg.url, { max: 1 });
          await admin.sql.unsafe(`alter system set shared_preload_libraries = 'pg_stat_statements'`);
          // Planning time too: a statement planned at every execution shows its cost here.
          await admin.sql.unsafe(`alter system set pg_stat_statements.track_planning = on`);
          await admin.sql.end();
          await pg.stop();
          const again = await restart();
          const db = createDb(again.url, { max: 1 });
          await db.sql.unsafe('create extension if not exists pg_stat_statements');
          await db.sql.end();
          return again;
        }
      : undefined,
  });
  // After the launch: it starts from an empty data dir, and the load generator's files live inside it.
  mkdirSync(TMP_DIR, { recursive: true });
  if (inherited.PGBOSS_POOL_MAX) process.env.PGBOSS_POOL_MAX = inherited.PGBOSS_POOL_MAX;
  if (inherited.DB_POOL_MAX) process.env.DB_POOL_MAX = inherited.DB_POOL_MAX;
  onCleanup(() => l.stop());
  const trackAll = () => {
    for (const g of [...l.webs(), ...l.workers()]) track(g);
  };
  trackAll();
  const simulator = l.simulator();
  if (simulator) track(simulator);

  process.env.DATABASE_URL = l.databaseUrl;
  process.env.SCANPAY_PROCESS_NAME = 'scanpay-bench';

  const cluster: Cluster = {
    databaseUrl: l.databaseUrl,
    simUrl: l.simUrl,
    webUrls: l.webUrls,
    baselineUrl: `http://127.0.0.1:${PORTS.baseline}`,
    credentials: l.credentials,
    db: l.db,
    sql: l.sql,
    get webs() {
      return l.webs();
    },
    get workers() {
      return l.workers();
    },
    env: l.env,
    postgresPid: () => l.postgresPid(),
    async startWebs(runWorker) {
      await l.startWebs(runWorker);
      trackAll();
    },
    stopWebs: () => l.stopWebs(),
    async startWorkers(n) {
      const started = await l.startWorkers(n);
      trackAll();
      return started;
    },
    stopWorkers: () => l.stopWorkers(),
    async startBaseline(kind = 'ingest') {
      // The pools of one web process as npm start sizes them (serve.ts: 4 + 2, or 4 + 4 for a first process
      // that also runs the worker).
      const e = l.env;
      const pools =
        opts.webs > 1
          ? { DB_POOL_MAX: e.DB_POOL_MAX ?? String(WEB_DB_POOL_PER_PROCESS), PGBOSS_POOL_MAX: e.PGBOSS_POOL_MAX ?? (opts.workers === 0 ? '4' : '2') }
          : {};
      const m = spawnManaged(
        'baseline',
        NODE,
        [...(heapFlagsOff ? [] : WEB_HEAP_FLAGS), '--import', 'tsx', kind === 'inline' ? 'scripts/bench/peer-server.ts' : 'scripts/bench/baseline-server.ts'],
        {
          env: { ...e, ...pools, ...nodeOptions('baseline'), PORT: String(PORTS.baseline), SCANPAY_PROCESS_NAME: 'scanpay-baseline' },
          verbose: opts.verbose,
        },
      );
      await waitUntil('baseline', httpOk(`${cluster.baselineUrl}/health`), m);
      cluster.baseline = m;
      return m;
    },
    async stopBaseline() {
      if (cluster.baseline) await stopManaged(cluster.baseline);
      cluster.baseline = undefined;
    },
  };
  return cluster;
}
