// `npm run dev` / `npm start`: the whole app from one command. Embedded Postgres (unless DATABASE_URL),
// migrations, demo seed, simulator credentials and simulator (simulator mode), then the web and the job
// worker: `dev` runs our web server (scripts/serve.ts --dev: Next in development mode) with the worker
// in-process; `start` runs the production web cluster (scripts/serve.ts) and the worker as its own process
// (scripts/worker.ts), so payment processing never shares an event loop with web requests. RUN_WORKER=false
// leaves the worker out (run `npm run worker` elsewhere).
//
// Supervision (scripts/lib/processes.ts): every child in its own process group; SIGINT, SIGTERM, SIGHUP (to
// this process or to its group) and the loss of our parent stop everything within STOP_DEADLINE_MS,
// Postgres last; a web or worker process that dies is restarted with a backoff; the embedded Postgres is
// watched and restarted if it dies. After a SIGKILL of this process its children notice and stop, and the
// next start stops what an earlier run of the same data dir and ports left behind, saying so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { ensureEmbeddedPostgres, killPostmasterNow, stopOwnPostmaster, type EmbeddedPostgresHandle } from '@/db/embedded';
import { errorFields, log } from '@/server/log';
import { announceSetupToken, bootDatabase, embeddedPostgresOptions, exitWithStartupError, startConfiguredSimulator, StartupError } from './lib/boot';
import { allProcesses, Backoff, createSupervisor, listenersOf, spawnGroup, terminate, type Group } from './lib/processes';
import { webArgs, workerArgs } from './lib/process-sizing';

const mode = process.argv[2] === 'start' ? 'start' : 'dev';
const say = log(mode);
const require = createRequire(import.meta.url);
const nextBin = require.resolve('next/dist/bin/next');
const ROOT = process.cwd();

function portFree(port: number, host: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

const OUR_PROCESS = /scripts\/(serve|worker|start|simulator)\.ts|next\/dist\/bin\/next|next-server/;

/** The `scripts/start.ts` this process descends from, if one still runs (a live run, not a leftover). */
function liveSupervisorOf(pid: number): number | undefined {
  const byPid = new Map(allProcesses().map((p) => [p.pid, p]));
  for (let p = byPid.get(pid); p && p.pid > 1; p = byPid.get(p.ppid)) {
    if (p.pid !== pid && p.pid !== process.pid && p.cmd.includes('scripts/start.ts')) return p.pid;
  }
  return undefined;
}

/**
 * Makes sure `port` is free. A process of this project still holding it after its supervisor was killed
 * (a leftover) is stopped, with its process group, and we say so; anything else is an error that names
 * the port and the setting.
 */
async function freePort(port: number, host: string, what: 'web' | 'simulator'): Promise<void> {
  const err = await portFree(port, host);
  if (!err) return;
  const setting = what === 'web' ? 'PORT' : 'SIM_PORT';
  if (err.code !== 'EADDRINUSE') throw new StartupError(`Cannot listen on ${host}:${port} (${what}): ${err.message}`);
  const holders = listenersOf(port);
  const leftovers = holders.filter((p) => p.cwd === ROOT && OUR_PROCESS.test(p.cmd) && !liveSupervisorOf(p.pid));
  if (holders.length === 0 || leftovers.length !== holders.length) {
    const live = holders.map((p) => liveSupervisorOf(p.pid)).find(Boolean);
    throw new StartupError(
      live
        ? `Port ${port} (${what}) is used by a Scanpay that is still running (pid ${live}). Stop it first, or choose another port with ${setting}=...`
        : `Port ${port} (${what}) is already in use${holders[0] ? ` by pid ${holders[0].pid} (${holders[0].cmd.slice(0, 80)})` : ''}. Stop whatever is using it (\`lsof -i :${port}\`) or choose another port with ${setting}=...`,
    );
  }
  say.warn(
    { port, pids: leftovers.map((p) => p.pid) },
    `port ${port} (${what}) is held by processes an earlier run left behind (pids ${leftovers.map((p) => p.pid).join(', ')}): stopping them`,
  );
  const groups = [...new Set(leftovers.map((p) => p.pgid))].filter((g) => g > 1 && g !== process.pid);
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGTERM');
    } catch {}
  }
  await terminate(
    leftovers.map((p) => p.pid),
    5_000,
  );
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {}
  }
  // The kernel may take a moment to release the socket of a process that just died.
  let still = await portFree(port, host);
  for (let i = 0; still && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    still = await portFree(port, host);
  }
  if (still) throw new StartupError(`Port ${port} (${what}) is still in use after stopping the leftovers: stop it by hand (\`lsof -i :${port}\`).`);
  say.info({ port }, `port ${port} is free again`);
}

async function main() {
  const sup = createSupervisor({ say: (line) => say.info(line), graceMs: 4_000 });
  let postgres: EmbeddedPostgresHandle | undefined;
  let pgDataDir: string | undefined;
  // Postgres goes last, after web and worker; on the exit path (deadline, crash) it is killed outright.
  // A stop during boot finds no handle yet, but may find the postmaster this process just started.
  sup.onCleanup(
    async () => {
      if (postgres?.owned) await postgres.stop();
      else if (pgDataDir) await stopOwnPostmaster(pgDataDir);
    },
    () => {
      if (pgDataDir) killPostmasterNow(pgDataDir, process.pid);
    },
  );

  try {
    const { loadEnv } = await import('@/server/env');
    const preEnv = loadEnv();
    if (!preEnv.DATABASE_URL) pgDataDir = embeddedPostgresOptions(preEnv).dataDir;
    // Leftovers first: an earlier run's web process may still hold the port (and its Postgres the data dir).
    await freePort(preEnv.PORT, preEnv.HOST, 'web');
    if (preEnv.wechatpayMode === 'simulator') await freePort(preEnv.SIM_PORT, '127.0.0.1', 'simulator');

    const booted = await bootDatabase({ seed: true, scope: mode, supervised: true });
    const { env, databaseUrl } = booted;
    postgres = booted.postgres;
    if (sup.stopping) return;
    await announceSetupToken(env, databaseUrl, mode);

    if (env.wechatpayMode === 'simulator') {
      const sim = await startConfiguredSimulator(env, databaseUrl);
      sup.onCleanup(() => sim.close());
      say.info(`WeChat Pay simulator on ${sim.url} (phone page: ${sim.url}/pay)`);
    }

    if (mode === 'start') {
      const distDir = process.env.NEXT_DIST_DIR || '.next';
      if (!existsSync(path.join(distDir, 'BUILD_ID'))) {
        say.info('no production build found: running `next build` first');
        const build = spawnSync(process.execPath, [nextBin, 'build'], { stdio: 'inherit', env: process.env });
        if (build.status !== 0) throw new StartupError('next build failed (see above)');
      }
    }

    // The children run with NODE_ENV=production under `npm start`, where the mode must be explicit: say the
    // one this run resolved (NODE_ENV=production set by the operator already required it).
    const childEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      NEXT_TELEMETRY_DISABLED: '1',
      NODE_ENV: mode === 'dev' ? ('development' as const) : ('production' as const),
      WECHATPAY_MODE: env.wechatpayMode,
    };
    const separateWorker = mode === 'start' && env.RUN_WORKER;

    // A child that dies is restarted, ever more slowly while it keeps dying (1 s … 30 s): jobs a worker held
    // are retried by pg-boss; a web process is back within seconds.
    const keep = (label: 'web' | 'worker', args: string[], extraEnv: Record<string, string>, stopOrder: number) => {
      const backoff = new Backoff();
      const launch = () => {
        const startedAt = Date.now();
        const g: Group = sup.add(spawnGroup(label, process.execPath, args, { env: { ...childEnv, ...extraEnv }, output: 'inherit' }), stopOrder);
        void g.exited.then(({ code, signal }) => {
          if (sup.stopping) return;
          const delay = backoff.next(Date.now() - startedAt);
          say.error({ code, signal, restartInMs: delay }, `${label} exited (${signal ?? code}); restarting it in ${(delay / 1000).toFixed(0)} s`);
          setTimeout(() => !sup.stopping && launch(), delay).unref();
        });
      };
      launch();
    };

    // Web and worker stop together (each bounded to about 3.5 s: what a worker still runs then expires and
    // runs again), then Postgres: the whole stop stays under STOP_DEADLINE_MS.
    if (separateWorker) keep('worker', workerArgs(), { SCANPAY_PROCESS_NAME: 'scanpay-worker' }, 0);
    keep('web', webArgs(mode), { SCANPAY_PROCESS_NAME: 'scanpay-web', ...(mode === 'start' ? { RUN_WORKER: 'false' } : {}) }, 0);

    // The embedded Postgres is watched: if it dies, it is started again (web and worker reconnect).
    if (postgres?.owned) {
      const pgBackoff = new Backoff();
      const watch = (handle: EmbeddedPostgresHandle, startedAt: number) => {
        void handle.exited.then(async ({ code, signal }) => {
          if (sup.stopping || postgres !== handle) return;
          const delay = pgBackoff.next(Date.now() - startedAt);
          say.error({ code, signal, restartInMs: delay }, `embedded Postgres exited (${signal ?? code}); restarting it in ${(delay / 1000).toFixed(0)} s`);
          for (;;) {
            await new Promise((r) => setTimeout(r, delay));
            if (sup.stopping) return;
            try {
              const next = await ensureEmbeddedPostgres({ ...embeddedPostgresOptions(env), supervised: true });
              postgres = next;
              say.info('embedded Postgres is back');
              watch(next, Date.now());
              return;
            } catch (err) {
              say.error(errorFields(err), 'embedded Postgres did not restart; trying again');
            }
          }
        });
      };
      watch(postgres, Date.now());
    }

    const workerNote = separateWorker ? 'worker: own process' : env.RUN_WORKER ? 'worker: in-process' : 'worker off: run `npm run worker`';
    say.info(`Scanpay on ${env.appUrl} (${workerNote})`);
  } catch (err) {
    if (sup.stopping) return;
    // Stop what was started, then print the one line that says why.
    if (postgres?.owned) await postgres.stop().catch(() => {});
    exitWithStartupError(err);
  }
}

void main();
