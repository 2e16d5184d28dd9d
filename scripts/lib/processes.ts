// Process supervision shared by every launcher: `npm run dev` / `npm start` (scripts/start.ts), the web
// cluster primary (scripts/serve.ts), the benchmark and the system tests (scripts/lib/cluster.ts).
//
// - Every child runs in its own process group (detached), so a stop reaches whatever it spawned and the
//   terminal's signals reach only the supervisor, which stops the children in order.
// - SIGINT, SIGTERM and SIGHUP all mean "stop" (Node's default for SIGHUP is to exit without cleanup,
//   which orphans the children when a terminal closes). A second signal kills everything at once.
// - A stop has a hard deadline: whatever is still running when it passes is SIGKILLed synchronously,
//   so a stop always ends within STOP_DEADLINE_MS, Postgres included.
// - `npm run` forwards SIGTERM to its shell, which can die without passing it on: a re-parented
//   supervisor (or child) treats that as a stop request (onParentExit).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { processAlive } from '@/db/embedded';

/** A stop (every signal) ends within this, whatever the children do. */
export const STOP_DEADLINE_MS = 9_000;

export interface Group {
  label: string;
  child: ChildProcess;
  /** Last lines printed by the process when its output is piped (for error reports and tests). */
  output: string[];
  /** Resolves with the exit once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnGroupOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** 'inherit': share our stdout/stderr (npm start); 'pipe': keep the output (launchers, tests). */
  output?: 'inherit' | 'pipe';
  /** With output 'pipe': also print each line, prefixed with the label. */
  echo?: boolean;
  /** An IPC channel (child_process `send`). */
  ipc?: boolean;
  /** Lines kept in `output`. */
  keepLines?: number;
}

export function isRunning(g: Group | undefined): boolean {
  return !!g && g.child.exitCode === null && g.child.signalCode === null;
}

/** Spawns `command` as the leader of a new process group. */
export function spawnGroup(label: string, command: string, args: readonly string[], opts: SpawnGroupOptions = {}): Group {
  const piped = opts.output === 'pipe';
  const stdio: StdioOptions = piped ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'];
  if (opts.ipc) (stdio as unknown[]).push('ipc');
  const child = spawn(command, [...args], { cwd: opts.cwd, env: (opts.env ?? process.env) as NodeJS.ProcessEnv, detached: true, stdio });
  const output: string[] = [];
  const keep = opts.keepLines ?? 200;
  if (piped) {
    let partial = '';
    const relay = (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) output.push(line);
      if (output.length > keep) output.splice(0, output.length - keep);
      if (opts.echo)
        process.stdout.write(
          lines
            .filter(Boolean)
            .map((l) => `  [${label}] ${l}\n`)
            .join(''),
        );
    };
    child.stdout?.on('data', relay);
    child.stderr?.on('data', relay);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null })); // could not spawn
  });
  return { label, child, output, exited };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal); // not a group leader (spawned without detached)
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * SIGTERM to the process group, SIGKILL after `graceMs`; then SIGKILL whatever is left of the group (a
 * leader can exit before its own children). Resolves when the leader has exited.
 */
export async function stopGroup(g: Group | undefined, graceMs = 4_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!g) return;
  const pid = g.child.pid;
  if (isRunning(g)) {
    signalGroup(pid, signal);
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await g.exited;
    clearTimeout(timer);
  }
  if (pid) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
}

/** SIGKILL to the group, synchronously (the exit path, where nothing can be awaited). */
export function killGroupNow(g: Group | undefined): void {
  if (g?.child.pid) signalGroup(g.child.pid, 'SIGKILL');
}

/**
 * Delay before restarting a process that exited by itself: 1 s, 1 s, 2 s, 4 s … at most 30 s while it
 * keeps dying soon after start; back to 1 s once it ran for `healthyAfterMs`.
 */
export class Backoff {
  private quickExits = 0;
  constructor(
    private readonly maxMs = 30_000,
    private readonly healthyAfterMs = 60_000,
  ) {}
  /** Call when the process exited; returns how long to wait before starting it again. */
  next(ranForMs: number): number {
    this.quickExits = ranForMs >= this.healthyAfterMs ? 1 : this.quickExits + 1;
    return Math.min(1000 * 2 ** Math.max(0, this.quickExits - 2), this.maxMs);
  }
}

/**
 * Calls `stop` once this process's parent is gone (we were re-parented): children of a supervisor that was
 * SIGKILLed stop themselves instead of holding ports and the database.
 */
export function onParentExit(stop: () => void, intervalMs = 500): void {
  const parent = process.ppid;
  let fired = false;
  setInterval(() => {
    if (!fired && process.ppid !== parent) {
      fired = true;
      stop();
    }
  }, intervalMs).unref();
}

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface Supervisor {
  /** True once a stop began. */
  readonly stopping: boolean;
  /** Registers a child: stopped (in registration order reversed, unless `order` says otherwise) on stop. */
  add(g: Group, stopOrder?: number): Group;
  remove(g: Group): void;
  /** Runs at the end of a stop, after every child is gone (e.g. stop Postgres); `syncKill` for the exit path. */
  onCleanup(fn: () => Promise<void>, syncKill?: () => void): void;
  /** Stops everything and exits with `code`. */
  stop(code: number, why?: string): Promise<never>;
}

/**
 * The supervisor of this process's children: installs the stop signals, the parent watch, the exit-time
 * kill and the hard deadline. Children stop by ascending `stopOrder` (web 0, then worker 1, …), each
 * group with `graceMs`, then the cleanups run.
 */
export function createSupervisor(opts: {
  say?: (line: string) => void;
  graceMs?: number;
  deadlineMs?: number;
  /** Exit code for a stop caused by a signal. */
  signalExitCode?: number;
  watchParent?: boolean;
}): Supervisor {
  const say = opts.say ?? (() => {});
  const deadlineMs = opts.deadlineMs ?? STOP_DEADLINE_MS;
  const children = new Map<Group, number>();
  const cleanups: { fn: () => Promise<void>; syncKill?: () => void }[] = [];
  let stopping = false;
  let signals = 0;

  const killAllNow = () => {
    for (const g of children.keys()) killGroupNow(g);
    for (const c of cleanups) {
      try {
        c.syncKill?.();
      } catch {}
    }
  };

  const sup: Supervisor = {
    get stopping() {
      return stopping;
    },
    add(g, stopOrder = 0) {
      children.set(g, stopOrder);
      void g.exited.then(() => {
        if (!stopping) children.delete(g);
      });
      return g;
    },
    remove(g) {
      children.delete(g);
    },
    onCleanup(fn, syncKill) {
      cleanups.push({ fn, syncKill });
    },
    async stop(code, why) {
      if (stopping) return new Promise<never>(() => {});
      stopping = true;
      say(`stopping${why ? ` (${why})` : ''}…`);
      const started = Date.now();
      // Whatever happens below, nothing outlives the deadline.
      setTimeout(() => {
        say(`stop took longer than ${deadlineMs / 1000} s: killing what is left`);
        killAllNow();
        process.exit(code || 1);
      }, deadlineMs).unref();
      const orders = [...new Set(children.values())].sort((a, b) => a - b);
      for (const order of orders) {
        const batch = [...children].filter(([, o]) => o === order).map(([g]) => g);
        await Promise.all(batch.map((g) => stopGroup(g, opts.graceMs ?? 4_000)));
      }
      for (const c of cleanups.reverse()) await c.fn().catch((err: unknown) => say(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`));
      say(`stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      process.exit(code);
    },
  };

  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      signals++;
      if (signals > 1) {
        say(`${signal} again: killing every process now`);
        killAllNow();
        process.exit(opts.signalExitCode ?? 0);
      }
      void sup.stop(opts.signalExitCode ?? 0, signal);
    });
  }
  if (opts.watchParent !== false) onParentExit(() => void sup.stop(opts.signalExitCode ?? 0, 'parent exited'));
  // process.exit() from anywhere (a crash handler, the deadline): take the children with us.
  process.on('exit', killAllNow);
  return sup;
}

// ---------------------------------------------------------------------------------------------------
// Who holds a port: /proc/net/tcp{,6} gives the listening socket's inode, /proc/<pid>/fd the process.

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** State letter from /proc/<pid>/stat (R, S, D, Z, …). */
  state: string;
  cmd: string;
  cwd?: string;
}

export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let cwd: string | undefined;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {}
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), state: fields[0] ?? '', cmd, cwd };
  } catch {
    return undefined;
  }
}

export function allProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    // An exited process nobody reaped yet (a zombie: PID 1 of some containers never reaps) is gone.
    if (info && info.state !== 'Z') out.push(info);
  }
  return out;
}

export const pidAlive = processAlive;

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== '0A') continue; // 0A = LISTEN
      const hexPort = local.split(':').pop();
      if (hexPort && parseInt(hexPort, 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** Processes with a socket listening on `port` (any address). */
export function listenersOf(port: number): ProcessInfo[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] && inodes.has(m[1])) {
        const info = processInfo(Number(entry));
        if (info) found.push(info);
        break;
      }
    }
  }
  return found;
}

/** Sends `signal` to each pid, waits up to `timeoutMs` for all to exit, then SIGKILLs the rest. */
export async function terminate(pids: number[], timeoutMs = 5_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {}
  }
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(pidAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  while (pids.some(pidAlive) && Date.now() < deadline + 2_000) await new Promise((r) => setTimeout(r, 50));
}
