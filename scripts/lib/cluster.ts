// The one launcher of a whole Scanpay for the system tests and the benchmark: what `npm start` starts,
// on the caller's own ports and data dir — embedded Postgres (or a given DATABASE_URL), migrations, demo
// seed, simulator credentials, the simulator (its own process), one or more `scripts/serve.ts` web servers
// (each a cluster of WEB_CONCURRENCY processes) and M `scripts/worker.ts` processes (or the worker inside
// web process 0), spawned with the same arguments and heap flags as `npm start` (scripts/lib/process-sizing.ts)
// and supervised by scripts/lib/processes.ts. Each process can be killed and restarted; Postgres can be
// stopped and started again.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createDb } from '@/db/client';
import { ensureEmbeddedPostgres, killPostmasterNow, type EmbeddedPostgresHandle } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { seedDemoCatalogue } from '@/db/seed';
import { ensureQueues } from '@/server/queue/boss';
import { ensureSimulatorCredentials, type SimCredentials } from '@/simulator/credentials';
import { isRunning, spawnGroup, stopGroup, killGroupNow, type Group } from './processes';
import { WEB_HEAP_FLAGS, WORKER_HEAP_FLAGS, webArgs, workerArgs } from './process-sizing';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const NODE = process.execPath;
export const TEST_DIST_DIR = process.env.NEXT_DIST_DIR ?? '.next-test';

export interface LaunchOptions {
  /** Data dir (wiped first): Postgres in <dataDir>/pg, simulator credentials in <dataDir>/simulator. */
  dataDir: string;
  pgPort: number;
  simPort: number;
  /** One scripts/serve.ts per port. */
  webPorts: number[];
  /** Processes of each serve.ts (WEB_CONCURRENCY); default 1. */
  webConcurrency?: number;
  /** Separate worker processes; 0 runs the worker inside web process 0 (RUN_WORKER=true). */
  workers: number;
  distDir?: string;
  /** Extra environment of every app process. */
  env?: Record<string, string>;
  /** Use this database instead of an embedded one (e.g. through a pooler); `adminUrl` for migrations. */
  databaseUrl?: string;
  adminUrl?: string;
  /** Print every process's output, prefixed. */
  echo?: boolean;
  /** `npm start`'s heap flags (default true). */
  heapFlags?: boolean;
  /** Extra environment per process label (the benchmark's profiling flags). */
  perProcessEnv?: (label: string) => Record<string, string>;
  /** Pool of the launcher's own database client. */
  poolMax?: number;
  /** Called with the embedded Postgres before migrations (the benchmark preloads pg_stat_statements). */
  preparePostgres?: (pg: EmbeddedPostgresHandle, restart: () => Promise<EmbeddedPostgresHandle>) => Promise<EmbeddedPostgresHandle>;
}

export interface Launched {
  databaseUrl: string;
  simUrl: string;
  webUrls: string[];
  credentials: SimCredentials;
  db: ReturnType<typeof createDb>['db'];
  sql: ReturnType<typeof createDb>['sql'];
  /** The environment every app process gets. */
  env: Record<string, string>;
  simulator(): Group | undefined;
  webs(): Group[];
  workers(): Group[];
  postgresPid(): number | null;
  startWebs(runWorker?: boolean): Promise<void>;
  stopWebs(): Promise<void>;
  restartWeb(i: number): Promise<void>;
  /** Starts `n` more worker processes. */
  startWorkers(n: number): Promise<Group[]>;
  startWorker(i: number): Promise<void>;
  killWorker(i: number, signal?: NodeJS.Signals): Promise<void>;
  stopWorkers(): Promise<void>;
  /** Fast shutdown of the embedded Postgres (an outage), and back. */
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  stop(): Promise<void>;
}

export function assertBuild(distDir = TEST_DIST_DIR): void {
  if (!existsSync(path.join(ROOT, distDir, 'BUILD_ID'))) {
    throw new Error(`No production build in ${distDir}/: run \`npm test\` or \`NEXT_DIST_DIR=${distDir} npx next build\` first`);
  }
}

export async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, g: Group | undefined, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(probe()).catch(() => false)) return;
    if (g && !isRunning(g)) throw new Error(`${what} exited during start:\n${g.output.slice(-30).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`${what} did not come up in ${timeoutMs / 1000} s:\n${g?.output.slice(-30).join('\n') ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const httpOk = (url: string) => async () => (await fetch(url, { signal: AbortSignal.timeout(5000) })).ok;

/** Processes of a group leader's tree (the cluster primary and its web processes). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function launch(opts: LaunchOptions): Promise<Launched> {
  const distDir = opts.distDir ?? TEST_DIST_DIR;
  assertBuild(distDir);
  rmSync(opts.dataDir, { recursive: true, force: true });
  mkdirSync(opts.dataDir, { recursive: true });
  const pgDir = path.join(opts.dataDir, 'pg');
  let pg: EmbeddedPostgresHandle | undefined;
  const startPg = () => ensureEmbeddedPostgres({ dataDir: pgDir, port: opts.pgPort, supervised: true });
  // Nothing outlives the launcher, even if it dies without stopping.
  const killAll = () => {
    for (const g of [...webs, ...workers, simulator]) killGroupNow(g);
    if (pg?.owned) killPostmasterNow(pgDir, process.pid);
  };
  process.on('exit', killAll);

  let databaseUrl = opts.databaseUrl;
  let adminUrl = opts.adminUrl ?? opts.databaseUrl;
  if (!databaseUrl) {
    pg = await startPg();
    if (opts.preparePostgres) pg = await opts.preparePostgres(pg, startPg);
    databaseUrl = adminUrl = pg.url;
  }
  await runMigrations(adminUrl!);
  await ensureQueues(adminUrl!);
  // Named so that counts of the system's connections can leave the launcher's own out.
  const { db, sql } = createDb(adminUrl!, { max: opts.poolMax ?? 4, applicationName: 'scanpay-launcher' });
  await seedDemoCatalogue(db);
  const credentialsFile = path.join(opts.dataDir, 'simulator', 'credentials.json');
  const credentials = await ensureSimulatorCredentials(credentialsFile);

  const simUrl = `http://127.0.0.1:${opts.simPort}`;
  const webUrls = opts.webPorts.map((p) => `http://127.0.0.1:${p}`);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    DATABASE_URL: databaseUrl,
    DATA_DIR: opts.dataDir,
    WECHATPAY_MODE: 'simulator',
    SIM_CREDENTIALS_FILE: credentialsFile,
    SIM_PORT: String(opts.simPort),
    WECHATPAY_BASE_URL: simUrl,
    NEXT_DIST_DIR: distDir,
    APP_URL: webUrls[0] ?? '',
    ...opts.env,
  };
  delete env.SCANPAY_PROCESS_NAME;
  const heap = opts.heapFlags !== false;
  const extra = (label: string) => opts.perProcessEnv?.(label) ?? {};

  let simulator: Group | undefined;
  let webs: Group[] = [];
  let workers: Group[] = [];
  const spawnApp = (label: string, args: string[], procEnv: Record<string, string>) =>
    spawnGroup(label, NODE, args, { cwd: ROOT, env: { ...env, ...procEnv, ...extra(label) }, output: 'pipe', echo: opts.echo });

  const startWeb = async (i: number, runWorker: boolean): Promise<Group> => {
    const port = opts.webPorts[i]!;
    const url = webUrls[i]!;
    const g = spawnApp(`web${i}`, webArgs('start', heap ? WEB_HEAP_FLAGS : []), {
      PORT: String(port),
      HOST: '127.0.0.1',
      APP_URL: url,
      RUN_WORKER: runWorker ? 'true' : 'false',
      WEB_CONCURRENCY: String(opts.webConcurrency ?? 1),
      SCANPAY_PROCESS_NAME: `scanpay-web${i}`,
    });
    await waitUntil(g.label, httpOk(`${url}/api/health`), g);
    // A cluster's processes come up one by one: wait until every one runs.
    const n = opts.webConcurrency ?? 1;
    if (n > 1) await waitUntil(`${g.label} cluster`, () => childrenOf(g.child.pid!).length >= n, g, 60_000);
    return g;
  };
  const startOneWorker = async (i: number): Promise<Group> => {
    const g = spawnApp(`worker${i}`, workerArgs(heap ? WORKER_HEAP_FLAGS : []), {
      // Refund notifications and prepay notify_urls point at the first web server.
      APP_URL: webUrls[0] ?? '',
      SCANPAY_PROCESS_NAME: `scanpay-worker${i}`,
    });
    await waitUntil(g.label, () => g.output.some((l) => l.includes('worker ready')), g, 60_000);
    return g;
  };

  const launched: Launched = {
    databaseUrl,
    simUrl,
    webUrls,
    credentials,
    db,
    sql,
    env,
    simulator: () => simulator,
    webs: () => webs,
    workers: () => workers,
    postgresPid() {
      try {
        return Number(readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
      } catch {
        return null;
      }
    },
    async startWebs(runWorker = opts.workers === 0) {
      webs = [];
      for (let i = 0; i < opts.webPorts.length; i++) webs.push(await startWeb(i, runWorker));
    },
    async stopWebs() {
      await Promise.all(webs.map((g) => stopGroup(g, 20_000)));
      webs = [];
    },
    async restartWeb(i) {
      await stopGroup(webs[i], 20_000);
      webs[i] = await startWeb(i, opts.workers === 0 && i === 0);
    },
    async startWorkers(n) {
      const base = workers.length;
      const started = await Promise.all(Array.from({ length: n }, (_, k) => startOneWorker(base + k)));
      workers.push(...started);
      return started;
    },
    async startWorker(i) {
      workers[i] = await startOneWorker(i);
    },
    async killWorker(i, signal = 'SIGKILL') {
      await stopGroup(workers[i], 15_000, signal);
    },
    async stopWorkers() {
      await Promise.all(workers.map((g) => stopGroup(g, 20_000)));
      workers = [];
    },
    async stopPostgres() {
      if (!pg?.owned) throw new Error('no embedded Postgres to stop');
      await pg.stop();
    },
    async startPostgres() {
      pg = await startPg();
    },
    async stop() {
      await Promise.all(webs.map((g) => stopGroup(g, 10_000)));
      await Promise.all(workers.map((g) => stopGroup(g, 10_000)));
      await stopGroup(simulator, 5_000);
      webs = [];
      workers = [];
      simulator = undefined;
      await sql.end({ timeout: 5 }).catch(() => {});
      if (pg?.owned) await pg.stop();
      process.off('exit', killAll);
    },
  };

  try {
    simulator = spawnApp('simulator', ['--import', 'tsx', 'scripts/simulator.ts'], { SCANPAY_PROCESS_NAME: 'scanpay-sim' });
    await waitUntil('simulator', httpOk(`${simUrl}/_sim/health`), simulator);
    await launched.startWebs();
    if (opts.workers > 0) await launched.startWorkers(opts.workers);
  } catch (err) {
    await launched.stop().catch(() => {}); // never leave half a system running
    throw err;
  }
  return launched;
}
