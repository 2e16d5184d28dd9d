// A real multi-process Scanpay for system tests: embedded Postgres, the simulator as its own process,
// N web processes (`next start` on the test build, RUN_WORKER=false) and M worker processes
// (`scripts/worker.ts`), each killable and restartable — exactly the production process model.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createDb } from '@/db/client';
import { ensureEmbeddedPostgres, type EmbeddedPostgresHandle } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { ensureQueues } from '@/server/queue/boss';
import { seedDemoCatalogue } from '@/db/seed';
import { ensureSimulatorCredentials } from '@/simulator/credentials';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = process.execPath;
const NEXT_BIN = path.join(ROOT, 'node_modules/next/dist/bin/next');
export const TEST_DIST_DIR = process.env.NEXT_DIST_DIR ?? '.next-test';

export interface ClusterOptions {
  name: string;
  pgPort: number;
  simPort: number;
  webPorts: number[];
  workers: number;
  env?: Record<string, string>;
  /** Print the processes' output (for debugging). */
  verbose?: boolean;
}

interface Managed {
  label: string;
  child?: ChildProcess;
  start(): Promise<void>;
}

export interface Cluster {
  databaseUrl: string;
  simUrl: string;
  webUrls: string[];
  db: ReturnType<typeof createDb>['db'];
  sql: ReturnType<typeof createDb>['sql'];
  killWorker(i: number, signal?: NodeJS.Signals): Promise<void>;
  startWorker(i: number): Promise<void>;
  restartWeb(i: number): Promise<void>;
  stop(): Promise<void>;
}

export function assertTestBuild(): void {
  if (!existsSync(path.join(ROOT, TEST_DIST_DIR, 'BUILD_ID'))) {
    throw new Error(`No production build in ${TEST_DIST_DIR}/: run \`npm test\` or \`NEXT_DIST_DIR=${TEST_DIST_DIR} npx next build\` first`);
  }
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${url}: the process exited (${child.exitCode ?? child.signalCode}) while starting`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  assertTestBuild();
  const dataDir = path.join(ROOT, '.data', opts.name);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const pg: EmbeddedPostgresHandle = await ensureEmbeddedPostgres({ dataDir: path.join(dataDir, 'pg'), port: opts.pgPort });
  await runMigrations(pg.url);
  await ensureQueues(pg.url);
  const { db, sql } = createDb(pg.url, { max: 4 });
  await seedDemoCatalogue(db);
  const credentialsFile = path.join(dataDir, 'simulator', 'credentials.json');
  await ensureSimulatorCredentials(credentialsFile);

  const simUrl = `http://127.0.0.1:${opts.simPort}`;
  const webUrls = opts.webPorts.map((p) => `http://127.0.0.1:${p}`);
  const baseEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    DATABASE_URL: pg.url,
    DATA_DIR: dataDir,
    WECHATPAY_MODE: 'simulator',
    SIM_CREDENTIALS_FILE: credentialsFile,
    SIM_PORT: String(opts.simPort),
    WECHATPAY_BASE_URL: simUrl,
    NEXT_DIST_DIR: TEST_DIST_DIR,
    DB_POOL_MAX: '8',
    PGBOSS_POOL_MAX: '4',
    ...opts.env,
  };

  const spawnLogged = (label: string, args: string[], env: Record<string, string>): ChildProcess => {
    const child = spawn(NODE, args, { cwd: ROOT, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const relay = (chunk: Buffer) => {
      if (opts.verbose) process.stdout.write(chunk.toString().replace(/^/gm, `[${label}] `));
    };
    child.stdout!.on('data', relay);
    child.stderr!.on('data', relay);
    return child;
  };

  const simulator: Managed = {
    label: 'simulator',
    async start() {
      this.child = spawnLogged(this.label, ['--import', 'tsx', 'scripts/simulator.ts'], baseEnv);
      await waitForHttp(`${simUrl}/_sim/health`, this.child);
    },
  };
  const webs: Managed[] = opts.webPorts.map((port, i): Managed => ({
    label: `web${i}`,
    async start() {
      this.child = spawnLogged(this.label, [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], {
        ...baseEnv,
        PORT: String(port),
        APP_URL: webUrls[i],
        RUN_WORKER: 'false',
        SCANPAY_PROCESS_NAME: `scanpay-web${i}`,
      });
      await waitForHttp(`${webUrls[i]}/api/health`, this.child!);
    },
  }));
  const workers: Managed[] = Array.from({ length: opts.workers }, (_, i): Managed => ({
    label: `worker${i}`,
    async start() {
      this.child = spawnLogged(this.label, ['--import', 'tsx', 'scripts/worker.ts'], {
        ...baseEnv,
        // Refund notifications and prepay notify_urls point at the first web process.
        APP_URL: webUrls[0],
        SCANPAY_PROCESS_NAME: `scanpay-worker${i}`,
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${this.label} did not start`)), 60_000);
        const onData = (chunk: Buffer) => {
          if (chunk.toString().includes('[worker] ready')) {
            clearTimeout(timer);
            this.child!.stdout!.off('data', onData);
            resolve();
          }
        };
        this.child!.stdout!.on('data', onData);
        this.child!.once('exit', (code) => reject(new Error(`${this.label} exited (${code}) during start`)));
      });
    },
  }));

  const stopProcess = async (m: Managed, signal: NodeJS.Signals = 'SIGTERM') => {
    if (!m.child) return;
    const child = m.child;
    m.child = undefined;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited(child);
    clearTimeout(timer);
  };

  const stopAll = async () => {
    for (const m of [...workers, ...webs, simulator]) await stopProcess(m);
    await sql.end({ timeout: 5 });
    await pg.stop();
  };
  try {
    await simulator.start();
    for (const w of webs) await w.start();
    for (const w of workers) await w.start();
  } catch (err) {
    await stopAll(); // never leave half a cluster running
    throw err;
  }

  return {
    databaseUrl: pg.url,
    simUrl,
    webUrls,
    db,
    sql,
    killWorker: (i, signal = 'SIGKILL') => stopProcess(workers[i], signal),
    startWorker: (i) => workers[i].start(),
    async restartWeb(i) {
      await stopProcess(webs[i]);
      await webs[i].start();
    },
    stop: stopAll,
  };
}
