// Every process the benchmark starts is registered here and stopped on the way out — normal end, error,
// Ctrl-C, SIGTERM, or npm's shell dying under us. Children run in their own process groups so a stop
// reaches whatever they spawned, and the terminal's Ctrl-C reaches only us (we stop them in order).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ROOT } from './config';

export interface Managed {
  label: string;
  child: ChildProcess;
  /** Lines printed by the process (last 200), for error reports. */
  output: string[];
  exited: Promise<void>;
}

const running = new Set<Managed>();
const finalizers: (() => Promise<void>)[] = [];
const syncKills: (() => void)[] = [];

export function isAlive(m: Managed): boolean {
  return m.child.exitCode === null && m.child.signalCode === null;
}

export function spawnManaged(
  label: string,
  command: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; verbose?: boolean; ipc?: boolean; inheritOutput?: boolean } = {},
): Managed {
  const spawnOpts: SpawnOptions = {
    cwd: ROOT,
    env: (opts.env ?? process.env) as NodeJS.ProcessEnv,
    detached: true,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  };
  const child = spawn(command, args, spawnOpts);
  const output: string[] = [];
  const relay = (chunk: Buffer) => {
    const text = chunk.toString();
    for (const line of text.split('\n')) if (line) output.push(line);
    if (output.length > 200) output.splice(0, output.length - 200);
    if (opts.verbose || opts.inheritOutput) process.stdout.write(text.replace(/^(?=.)/gm, `  [${label}] `));
  };
  child.stdout?.on('data', relay);
  child.stderr?.on('data', relay);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const m: Managed = { label, child, output, exited };
  running.add(m);
  void exited.then(() => running.delete(m));
  return m;
}

/** SIGTERM to the process group, SIGKILL after `graceMs`. */
export async function stopManaged(m: Managed, graceMs = 10_000): Promise<void> {
  if (!isAlive(m)) return;
  const pid = m.child.pid!;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    try {
      m.child.kill('SIGTERM');
    } catch {}
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }, graceMs);
  await m.exited;
  clearTimeout(timer);
  // The group may outlive its leader (Next's own children): make sure nothing of it is left.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

/** Something to do at the very end (stop Postgres), after every managed process is gone. */
export function onCleanup(fn: () => Promise<void>, syncKill?: () => void): void {
  finalizers.push(fn);
  if (syncKill) syncKills.push(syncKill);
}

let cleaning: Promise<void> | undefined;

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    // Load generators and subscribers first, then the app, then its dependencies.
    const order = (m: Managed) => (/^(loadgen|subscriber)/.test(m.label) ? 0 : /^(web|worker|baseline)/.test(m.label) ? 1 : 2);
    const all = [...running].sort((a, b) => order(a) - order(b));
    for (const group of [0, 1, 2]) await Promise.all(all.filter((m) => order(m) === group).map((m) => stopManaged(m)));
    for (const fn of finalizers.reverse()) await fn().catch((err) => console.error('[bench] cleanup:', err));
  })();
  return cleaning;
}

/** Last resort when the event loop is going away: signal everything synchronously. */
function killEverythingNow(): void {
  for (const m of running) {
    try {
      process.kill(-m.child.pid!, 'SIGKILL');
    } catch {}
  }
  for (const kill of syncKills) {
    try {
      kill();
    } catch {}
  }
}

let interrupted = 0;

/** True once Ctrl-C / SIGTERM arrived: errors from processes being stopped are expected then. */
export function wasInterrupted(): boolean {
  return interrupted > 0;
}

export function installSignalHandlers(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted++;
    if (interrupted > 1) {
      killEverythingNow();
      process.exit(130);
    }
    console.error(`\n[bench] ${signal}: stopping every process the benchmark started…`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killEverythingNow);
  // `npm run` forwards SIGTERM to its sh, which dies without passing it on: we get re-parented.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) onSignal('SIGHUP');
  }, 500).unref();
}

/** Kills the postmaster named in a data dir's postmaster.pid (synchronous; for the exit path). */
export function killPostmaster(dataDir: string): void {
  try {
    const pid = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGQUIT');
  } catch {}
}

/** Children that must stop if we die without cleaning up (SIGKILL): they poll for their parent. */
export function exitWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 500).unref();
}
