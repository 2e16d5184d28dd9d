// Every process the benchmark starts is registered here and stopped on the way out — normal end, error,
// Ctrl-C, SIGTERM, SIGHUP, or npm's shell dying under us. Built on the shared supervision module
// (scripts/lib/processes.ts): children in their own process groups, stopped in order.
import { onParentExit, isRunning, killGroupNow, spawnGroup, stopGroup, STOP_SIGNALS, type Group } from '../../lib/processes';
import { ROOT } from './config';

export type Managed = Group;

const running = new Set<Managed>();
const finalizers: (() => Promise<void>)[] = [];
const syncKills: (() => void)[] = [];

export const isAlive = (m: Managed): boolean => isRunning(m);

export function spawnManaged(
  label: string,
  command: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; verbose?: boolean; ipc?: boolean; inheritOutput?: boolean } = {},
): Managed {
  const m = spawnGroup(label, command, args, { cwd: ROOT, env: opts.env, output: 'pipe', echo: opts.verbose || opts.inheritOutput, ipc: opts.ipc });
  track(m);
  return m;
}

/** Registers a process started elsewhere (the shared launcher), so an interrupted run stops it too. */
export function track(m: Managed): void {
  running.add(m);
  void m.exited.then(() => running.delete(m));
}

/** SIGTERM to the process group, SIGKILL after `graceMs`. */
export const stopManaged = (m: Managed, graceMs = 10_000): Promise<void> => stopGroup(m, graceMs);

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
    for (const fn of finalizers.reverse()) await fn().catch((err: unknown) => process.stderr.write(`[bench] cleanup: ${String(err)}\n`));
  })();
  return cleaning;
}

/** Last resort when the event loop is going away: signal everything synchronously. */
function killEverythingNow(): void {
  for (const m of running) killGroupNow(m);
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
  const onSignal = (signal: string) => {
    interrupted++;
    if (interrupted > 1) {
      killEverythingNow();
      process.exit(130);
    }
    process.stderr.write(`\n[bench] ${signal}: stopping every process the benchmark started…\n`);
    void cleanupAll().finally(() => process.exit(130));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => onSignal(signal));
  process.on('exit', killEverythingNow);
  onParentExit(() => onSignal('parent exited'));
}

/** A hard ceiling on a whole run: a wedged scenario must not keep processes around forever. */
export function limitRunTime(label: string, minutes: number): void {
  setTimeout(() => {
    console.error(`[${label}] the run exceeded its time limit; stopping everything`);
    void cleanupAll().finally(() => process.exit(1));
  }, minutes * 60_000).unref();
}

/** Children that must stop if we die without cleaning up (SIGKILL): they poll for their parent. */
export function exitWithParent(): void {
  onParentExit(() => process.exit(1));
}
