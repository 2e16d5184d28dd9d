// The system under test, started as `npm start` runs it but on the benchmark's own ports and data dir:
// embedded Postgres, migrations, demo seed, simulator credentials, the simulator (its own process), N web
// processes (scripts/serve.ts, or `next start`, on a production build) and M `scripts/worker.ts` processes
// (or the worker in web process 0), with the heap flags `npm start` uses — plus the bare node:http baseline server, started only for its own runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { ensureEmbeddedPostgres, type EmbeddedPostgresHandle } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { createDb } from '@/db/client';
import { seedDemoCatalogue } from '@/db/seed';
import { ensureSimulatorCredentials, type SimCredentials } from '@/simulator/credentials';
import { BENCH_DIR, CREDENTIALS_FILE, DIST_DIR, NEXT_BIN, NODE, PORTS, PROFILE_DIR, ROOT, TMP_DIR, type BenchOptions } from './config';
import { isAlive, killPostmaster, onCleanup, spawnManaged, stopManaged, type Managed } from './procs';
import { processTree } from './resources';
import { WEB_DB_POOL_PER_PROCESS, WEB_HEAP_FLAGS as APP_WEB_HEAP_FLAGS, WORKER_HEAP_FLAGS as APP_WORKER_HEAP_FLAGS } from '../../lib/process-sizing';

// The heap flags `npm start` gives its processes; BENCH_HEAP_FLAGS=off runs without them (an experiment).
const heapFlagsOff = process.env.BENCH_HEAP_FLAGS === 'off';
const WEB_HEAP_FLAGS = heapFlagsOff ? [] : APP_WEB_HEAP_FLAGS;
const WORKER_HEAP_FLAGS = heapFlagsOff ? [] : APP_WORKER_HEAP_FLAGS;

const say = (line: string) => console.log(`[bench] ${line}`);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitFor(what: string, probe: () => Promise<boolean>, m: Managed | undefined, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (m && !isAlive(m)) throw new Error(`${what} exited during start:\n${m.output.slice(-30).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`${what} did not come up in ${timeoutMs / 1000} s:\n${m?.output.slice(-30).join('\n') ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const httpOk = (url: string) => async () => (await fetch(url, { signal: AbortSignal.timeout(5000) })).ok;

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
    if (/^\s*\]/.test(kept[i]) && /,\s*$/.test(kept[i - 1])) kept[i - 1] = kept[i - 1].replace(/,\s*$/, '');
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
  webs: Managed[];
  workers: Managed[];
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
  // serve: one cluster on one port; next: one `next start` per port.
  const webPorts = opts.server === 'serve' ? [PORTS.web] : Array.from({ length: opts.webs }, (_, i) => PORTS.web + i);
  for (const port of [PORTS.pg, PORTS.sim, PORTS.baseline, ...webPorts]) {
    if (!(await portFree(port))) throw new Error(`port ${port} is in use: stop whatever uses it (a previous benchmark?) and retry`);
  }
  // A fresh database every run: figures must not depend on what an earlier run left behind.
  rmSync(BENCH_DIR, { recursive: true, force: true });
  mkdirSync(TMP_DIR, { recursive: true });
  const pgDir = path.join(BENCH_DIR, 'pg');
  let pg: EmbeddedPostgresHandle = await ensureEmbeddedPostgres({ dataDir: pgDir, port: PORTS.pg });
  onCleanup(() => pg.stop(), () => killPostmaster(pgDir));
  if (opts.profile) {
    // pg_stat_statements must be preloaded: set it, restart, create the extension.
    const admin = createDb(pg.url, { max: 1 });
    await admin.sql.unsafe(`alter system set shared_preload_libraries = 'pg_stat_statements'`);
    // Planning time too: a statement planned at every execution shows its cost here.
    await admin.sql.unsafe(`alter system set pg_stat_statements.track_planning = on`);
    await admin.sql.end();
    await pg.stop();
    pg = await ensureEmbeddedPostgres({ dataDir: pgDir, port: PORTS.pg });
    const again = createDb(pg.url, { max: 1 });
    await again.sql.unsafe('create extension if not exists pg_stat_statements');
    await again.sql.end();
  }
  await runMigrations(pg.url);
  const credentials = await ensureSimulatorCredentials(CREDENTIALS_FILE);

  process.env.DATABASE_URL = pg.url;
  process.env.SCANPAY_PROCESS_NAME = 'scanpay-bench';
  process.env.PGBOSS_POOL_MAX = '4';
  const { db, sql } = createDb(pg.url, { max: 12 });
  onCleanup(() => sql.end({ timeout: 5 }));
  await seedDemoCatalogue(db);

  const simUrl = `http://127.0.0.1:${PORTS.sim}`;
  const webUrls = webPorts.map((p) => `http://127.0.0.1:${p}`);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    DATABASE_URL: pg.url,
    DATA_DIR: BENCH_DIR,
    WECHATPAY_MODE: 'simulator',
    SIM_CREDENTIALS_FILE: CREDENTIALS_FILE,
    SIM_PORT: String(PORTS.sim),
    WECHATPAY_BASE_URL: simUrl,
    NEXT_DIST_DIR: distDir,
    APP_URL: webUrls[0],
    // The benchmark creates thousands of orders from one IP, and its orders must not be actively queried
    // while it runs (first query at +5 s × 100): both are configuration, not code paths under test.
    CHECKOUT_RATE_LIMIT_PER_MINUTE: '100000',
    COMPENSATION_TIME_SCALE: '100',
  };
  // Pool sizes stay at the app's defaults (DB_POOL_MAX 10, PGBOSS_POOL_MAX 6) unless the caller set them.
  delete env.PGBOSS_POOL_MAX;
  delete env.SCANPAY_PROCESS_NAME;
  if (process.env.BENCH_DB_POOL_MAX) env.DB_POOL_MAX = process.env.BENCH_DB_POOL_MAX;
  if (process.env.BENCH_PGBOSS_POOL_MAX) env.PGBOSS_POOL_MAX = process.env.BENCH_PGBOSS_POOL_MAX;

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

  const simulator = spawnManaged('simulator', NODE, ['--import', 'tsx', 'scripts/simulator.ts'], {
    env: { ...env, SCANPAY_PROCESS_NAME: 'scanpay-sim' },
    verbose: opts.verbose,
  });
  await waitFor('simulator', httpOk(`${simUrl}/_sim/health`), simulator);

  const cluster: Cluster = {
    databaseUrl: pg.url,
    simUrl,
    webUrls,
    baselineUrl: `http://127.0.0.1:${PORTS.baseline}`,
    credentials,
    db,
    sql,
    webs: [],
    workers: [],
    env,
    postgresPid() {
      try {
        return Number(readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
      } catch {
        return null;
      }
    },
    async startWebs(runWorker) {
      const started = webPorts.map((port, i) => {
        const common = { ...env, PORT: String(port), HOST: '127.0.0.1', APP_URL: webUrls[i], RUN_WORKER: runWorker ? 'true' : 'false' };
        const m =
          opts.server === 'serve'
            ? // Exactly what `npm start` spawns after booting the database and the simulator.
              spawnManaged('web', NODE, [...WEB_HEAP_FLAGS, '--import', 'tsx', 'scripts/serve.ts'], {
                env: { ...common, ...nodeOptions('web'), WEB_CONCURRENCY: String(opts.webs), SCANPAY_PROCESS_NAME: 'scanpay-web' },
                verbose: opts.verbose,
              })
            : spawnManaged(`web${i}`, NODE, [...WEB_HEAP_FLAGS, NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], {
                env: { ...common, ...nodeOptions(`web${i}`), SCANPAY_PROCESS_NAME: `scanpay-web${i}` },
                verbose: opts.verbose,
              });
        return { m, url: webUrls[i] };
      });
      for (const { m, url } of started) await waitFor(m.label, httpOk(`${url}/api/health`), m);
      if (opts.server === 'serve' && opts.webs > 1) {
        // The cluster's processes come up one by one: wait until every one of them answers.
        const deadline = Date.now() + 60_000;
        while (processTree(started[0].m.child.pid!).length < opts.webs + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        await new Promise((r) => setTimeout(r, 2000));
      }
      cluster.webs = started.map((s) => s.m);
    },
    async stopWebs() {
      await Promise.all(cluster.webs.map((m) => stopManaged(m, 20_000)));
      cluster.webs = [];
    },
    async startWorkers(n) {
      const base = cluster.workers.length;
      const started = Array.from({ length: n }, (_, k) => {
        const i = base + k;
        // As `npm start` spawns it (and `npm run worker` runs it): the same heap flags.
        const m = spawnManaged(`worker${i}`, NODE, [...WORKER_HEAP_FLAGS, '--import', 'tsx', 'scripts/worker.ts'], {
          env: { ...env, ...nodeOptions(`worker${i}`), SCANPAY_PROCESS_NAME: `scanpay-worker${i}` },
          verbose: opts.verbose,
        });
        return m;
      });
      for (const m of started) await waitFor(m.label, async () => m.output.some((l) => l.includes('[worker] ready')), m);
      cluster.workers.push(...started);
      return started;
    },
    async stopWorkers() {
      await Promise.all(cluster.workers.map((m) => stopManaged(m, 20_000)));
      cluster.workers = [];
    },
    async startBaseline(kind = 'ingest') {
      // The pools of one web process as npm start sizes them (serve.ts: 4 + 2, or 4 + 4 for a first process
      // that also runs the worker).
      const pools = opts.server === 'serve' && opts.webs > 1 ? { DB_POOL_MAX: env.DB_POOL_MAX ?? String(WEB_DB_POOL_PER_PROCESS), PGBOSS_POOL_MAX: env.PGBOSS_POOL_MAX ?? (opts.workers === 0 ? '4' : '2') } : {};
      const script = kind === 'inline' ? 'scripts/bench/peer-server.ts' : 'scripts/bench/baseline-server.ts';
      const m = spawnManaged('baseline', NODE, [...WEB_HEAP_FLAGS, '--import', 'tsx', script], {
        env: { ...env, ...pools, ...nodeOptions('baseline'), PORT: String(PORTS.baseline), SCANPAY_PROCESS_NAME: 'scanpay-baseline' },
        verbose: opts.verbose,
      });
      await waitFor('baseline', httpOk(`${cluster.baselineUrl}/health`), m);
      cluster.baseline = m;
      return m;
    },
    async stopBaseline() {
      if (cluster.baseline) await stopManaged(cluster.baseline);
      cluster.baseline = undefined;
    },
  };

  await cluster.startWebs(opts.workers === 0);
  if (opts.workers > 0) await cluster.startWorkers(opts.workers);
  return cluster;
}
