// `npm run dev` / `npm start`: the whole app from one command. Embedded Postgres (unless DATABASE_URL),
// migrations, demo seed, simulator credentials and simulator (simulator mode), then the web and the job
// worker: `dev` runs the worker inside `next dev`; `start` runs the production web cluster (scripts/serve.ts)
// and the worker as its own process (scripts/worker.ts), so payment processing never shares an event loop
// with web requests. RUN_WORKER=false leaves the worker out (run `npm run worker` elsewhere).
// Ctrl-C / SIGTERM stops every child: each child's whole process group, the simulator, Postgres.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { bootDatabase, exitWithStartupError, log, onParentExit, startConfiguredSimulator, StartupError } from './lib/boot';
import { WEB_HEAP_FLAGS, WORKER_HEAP_FLAGS } from './lib/process-sizing';

const mode = process.argv[2] === 'start' ? 'start' : 'dev';
const say = log(mode);
const require = createRequire(import.meta.url);
const nextBin = require.resolve('next/dist/bin/next');

function assertPortFree(port: number, host: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new StartupError(
          err.code === 'EADDRINUSE'
            ? `Port ${port} (${what}) is already in use. Stop whatever is using it (\`lsof -i :${port}\`) or choose another port with ${what === 'web' ? 'PORT' : 'SIM_PORT'}=...`
            : `Cannot listen on ${host}:${port} (${what}): ${err.message}`,
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** Sends SIGTERM to a detached child's process group; SIGKILL after `graceMs`; resolves when it exited. */
async function stopGroup(child: ChildProcess | undefined, graceMs = 15_000): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM'); // the whole group: the process and everything it spawned
  } catch {}
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

async function main() {
  const cleanups: (() => Promise<void>)[] = [];
  let web: ChildProcess | undefined;
  let worker: ChildProcess | undefined;
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    // Web first (no new work arrives), then the worker finishes the jobs it holds.
    await stopGroup(web);
    await stopGroup(worker);
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(err));
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  onParentExit(() => void shutdown(0));

  try {
    const { env, databaseUrl, postgres } = await bootDatabase({ seed: true, scope: mode });
    if (postgres?.owned) cleanups.push(() => postgres.stop());
    await assertPortFree(env.PORT, env.HOST, 'web');

    if (env.wechatpayMode === 'simulator') {
      await assertPortFree(env.SIM_PORT, '127.0.0.1', 'simulator');
      const sim = await startConfiguredSimulator(env, databaseUrl);
      cleanups.push(() => sim.close());
      say(`WeChat Pay simulator on ${sim.url} (phone page: ${sim.url}/pay)`);
    }

    if (mode === 'start') {
      const distDir = process.env.NEXT_DIST_DIR || '.next';
      if (!existsSync(path.join(distDir, 'BUILD_ID'))) {
        say('no production build found: running `next build` first');
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

    // The job worker as its own process (start), restarted if it dies: jobs it held are retried by pg-boss.
    // One that keeps dying at start-up (bad configuration, database gone) is retried ever more slowly, up
    // to every 30 s, instead of flooding the log.
    let quickExits = 0;
    const startWorkerProcess = () => {
      const startedAt = Date.now();
      worker = spawn(process.execPath, [...WORKER_HEAP_FLAGS, '--import', 'tsx', 'scripts/worker.ts'], {
        stdio: 'inherit',
        detached: true,
        env: { ...childEnv, SCANPAY_PROCESS_NAME: 'scanpay-worker' },
      });
      worker.once('exit', (code, signal) => {
        if (stopping) return;
        quickExits = Date.now() - startedAt >= 60_000 ? 0 : quickExits + 1; // it ran a minute: a fresh start
        const delay = Math.min(1000 * 2 ** Math.max(0, quickExits - 1), 30_000); // 1, 1, 2, 4 … 30 s
        console.error(`[${mode}] worker exited (${signal ?? code}); restarting it in ${(delay / 1000).toFixed(0)} s`);
        setTimeout(() => !stopping && startWorkerProcess(), delay);
      });
    };
    if (separateWorker) startWorkerProcess();

    // dev: `next dev` (worker in-process unless RUN_WORKER=false); start: our production server (Next on a
    // cluster + the notify fast path), its processes without the worker.
    const args =
      mode === 'dev'
        ? [nextBin, 'dev', '-p', String(env.PORT), '-H', env.HOST]
        : [...WEB_HEAP_FLAGS, '--import', 'tsx', 'scripts/serve.ts'];
    const webChild = spawn(process.execPath, args, {
      stdio: 'inherit',
      detached: true, // own process group, so shutdown can stop Next and everything it spawned
      env: { ...childEnv, SCANPAY_PROCESS_NAME: 'scanpay-web', ...(mode === 'start' ? { RUN_WORKER: 'false' } : {}) },
    });
    web = webChild;
    webChild.once('exit', (code, signal) => {
      if (!stopping) {
        console.error(`[${mode}] web exited (${signal ?? code}); stopping`);
        void shutdown(code ?? 1);
      }
    });
    const workerNote = separateWorker ? 'worker: own process' : env.RUN_WORKER ? 'worker: in-process' : 'worker off: run `npm run worker`';
    say(`Scanpay on ${env.appUrl} (${workerNote})`);
  } catch (err) {
    await stopGroup(worker, 5000);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    exitWithStartupError(err);
  }
}

void main();
