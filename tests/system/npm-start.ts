// `npm start` / `npm run dev` as a user runs them, for the supervision tests: through npm itself, in a
// process group of its own (as a terminal or `setsid` gives it), on the test build and the caller's ports
// and data dir. Helpers find every process it started (from /proc) and wait for them to be gone.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { allProcesses, pidAlive, type ProcessInfo } from '../../scripts/lib/processes';
import { assertBuild, ROOT, TEST_DIST_DIR } from '../../scripts/lib/cluster';

export interface NpmRun {
  /** npm itself: the top process and the leader of the run's process group. */
  npm: ChildProcess;
  output: string[];
  appUrl: string;
  simUrl: string;
  dataDir: string;
  /** scripts/start.ts (the supervisor), once it runs. */
  supervisorPid(): number | undefined;
}

export interface NpmRunOptions {
  mode: 'start' | 'dev';
  port: number;
  simPort: number;
  pgPort: number;
  dataDir: string;
  env?: Record<string, string>;
}

export function npmRun(opts: NpmRunOptions): NpmRun {
  if (opts.mode === 'start') assertBuild();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: opts.mode === 'start' ? 'production' : 'development',
    // Production never guesses the payment mode (server/env.ts): a test deployment says it.
    WECHATPAY_MODE: 'simulator',
    PORT: String(opts.port),
    HOST: '127.0.0.1',
    SIM_PORT: String(opts.simPort),
    PG_PORT: String(opts.pgPort),
    DATA_DIR: opts.dataDir,
    NEXT_DIST_DIR: TEST_DIST_DIR, // dev writes under <dist>/dev, which tsconfig already includes
    WEB_CONCURRENCY: '1',
    LOG_LEVEL: 'info',
    ...opts.env,
  };
  delete env.DATABASE_URL; // start.ts boots its own embedded Postgres, as on a fresh machine
  delete env.WECHATPAY_BASE_URL;
  delete env.APP_URL;
  delete env.SCANPAY_PROCESS_NAME;
  // detached: its own process group, as a terminal gives `npm start` (the group then gets SIGHUP on close).
  const npm = spawn('npm', [opts.mode === 'start' ? 'start' : 'run', ...(opts.mode === 'dev' ? ['dev'] : [])], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  npm.stdout!.on('data', keep);
  npm.stderr!.on('data', keep);
  return {
    npm,
    output,
    appUrl: `http://127.0.0.1:${opts.port}`,
    simUrl: `http://127.0.0.1:${opts.simPort}`,
    dataDir: opts.dataDir,
    supervisorPid: () => descendants(npm.pid!).find((p) => p.cmd.includes('scripts/start.ts'))?.pid,
  };
}

/** Every live descendant of `pid` (children, their children, …). */
export function descendants(pid: number, all: ProcessInfo[] = allProcesses()): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid === parent) {
        out.push(p);
        queue.push(p.pid);
      }
    }
  }
  return out;
}

/** The embedded Postgres of the data dir (the postmaster names it on its command line) and its backends. */
export function postgresOf(dataDir: string, all: ProcessInfo[] = allProcesses()): ProcessInfo[] {
  const pgDir = path.resolve(dataDir, 'pg');
  const postmasters = all.filter((p) => p.cmd.includes(`-D ${pgDir} `));
  return [...postmasters, ...postmasters.flatMap((p) => descendants(p.pid, all))];
}

/** Everything the run started: npm's descendants plus the Postgres of its data dir. */
export function startedBy(run: NpmRun): ProcessInfo[] {
  const all = allProcesses();
  const pid = run.npm.pid;
  // npm, its process group (npm, sh, the supervisor: they stay one group even when npm is gone) and
  // everything below them.
  const roots = pid ? all.filter((p) => p.pid === pid || p.pgid === pid) : [];
  const tree = [...roots, ...roots.flatMap((r) => descendants(r.pid, all))];
  const pg = postgresOf(run.dataDir, all);
  const seen = new Set<number>();
  return [...tree, ...pg].filter((p) => !seen.has(p.pid) && seen.add(p.pid));
}

/** Waits until none of `pids` is alive; returns how long it took (ms), or -1 after `timeoutMs`. */
export async function waitAllGone(pids: number[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (!pids.some(pidAlive)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  return -1;
}

export async function waitHealthy(url: string, run: NpmRun, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
    if (res?.ok) return;
    if (run.npm.exitCode !== null || run.npm.signalCode !== null) throw new Error(`npm exited while starting:\n${run.output.slice(-30).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`did not come up in ${timeoutMs / 1000} s:\n${run.output.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Kills whatever is left of a run (test clean-up). */
export function killRun(run: NpmRun | undefined): void {
  if (!run) return;
  try {
    process.kill(-run.npm.pid!, 'SIGKILL');
  } catch {}
  for (const p of startedBy(run)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {}
  }
}
