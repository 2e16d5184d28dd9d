// `npm run dev` / `npm start`: the whole app from one command. Embedded Postgres (unless DATABASE_URL),
// migrations, demo seed, simulator credentials and simulator (simulator mode), then Next with the worker
// in-process. Ctrl-C / SIGTERM stops every child: Next's whole process group, the simulator, Postgres.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { bootDatabase, exitWithStartupError, log, onParentExit, startConfiguredSimulator, StartupError } from './lib/boot';

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

async function main() {
  const cleanups: (() => Promise<void>)[] = [];
  let next: ChildProcess | undefined;
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    if (next?.pid && next.exitCode === null) {
      const exited = new Promise((r) => next!.once('exit', r));
      try {
        process.kill(-next.pid, 'SIGTERM'); // the whole group: next and its workers
      } catch {}
      const timer = setTimeout(() => {
        try {
          process.kill(-next!.pid!, 'SIGKILL');
        } catch {}
      }, 15_000);
      await exited;
      clearTimeout(timer);
    }
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

    // dev: `next dev`; start: our production server (Next on a cluster + the notify fast path).
    // Heap limits: Node otherwise sizes its heap for the whole machine; these processes need far less
    // (measured: no throughput cost, RSS about half — docs/benchmarks.md).
    const args =
      mode === 'dev'
        ? [nextBin, 'dev', '-p', String(env.PORT), '-H', env.HOST]
        : ['--max-semi-space-size=8', '--max-old-space-size=256', '--import', 'tsx', 'scripts/serve.ts'];
    next = spawn(process.execPath, args, {
      stdio: 'inherit',
      detached: true, // own process group, so shutdown can stop Next and everything it spawned
      env: { ...process.env, DATABASE_URL: databaseUrl, NEXT_TELEMETRY_DISABLED: '1', SCANPAY_PROCESS_NAME: 'scanpay-web', NODE_ENV: mode === 'dev' ? 'development' : 'production' },
    });
    next.once('exit', (code, signal) => {
      if (!stopping) {
        console.error(`[${mode}] Next exited (${signal ?? code}); stopping`);
        void shutdown(code ?? 1);
      }
    });
    say(`Scanpay on ${env.appUrl} (worker ${env.RUN_WORKER ? 'in-process' : 'off: run `npm run worker`'})`);
  } catch (err) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    exitWithStartupError(err);
  }
}

void main();
