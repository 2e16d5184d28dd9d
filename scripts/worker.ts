// `npm run worker`: the pg-boss workers alone (run the web with RUN_WORKER=false to scale them apart).
// With DATABASE_URL unset it uses (or starts) the same embedded Postgres as `npm run dev`.
//
// A database restart is survived: pg-boss and postgres.js reconnect by themselves (postgres.js's own
// uncatchable TypeError on a write to a closed socket, porsager/postgres#1154, is patched out by
// patches/postgres+3.4.9.patch, applied by `npm install`). Any other exception nobody caught is logged and
// ends the process with exit code 1, so whatever supervises it (`npm start`, systemd, a container runtime)
// starts it again; it never lingers half-dead.
import { closeProcessDeps, processDeps } from '@/server/deps';
import { errorFields, log } from '@/server/log';
import { startWorker, type Worker } from '@/server/jobs/worker';
import { bootDatabase, exitWithStartupError } from './lib/boot';
import { onParentExit, STOP_SIGNALS } from './lib/processes';

const say = log('worker');

/** Crash guard: one fatal line, then exit non-zero for the supervisor to restart us. */
function installCrashGuard(): void {
  const die = (kind: string) => (err: unknown) => {
    say.fatal({ ...errorFields(err), kind }, 'worker crashed; exiting for the supervisor to restart it');
    process.exit(1);
  };
  process.on('uncaughtException', die('uncaughtException'));
  process.on('unhandledRejection', die('unhandledRejection'));
}

async function main() {
  process.env.SCANPAY_PROCESS_NAME ??= 'scanpay-worker';
  installCrashGuard();
  const booted = await bootDatabase({ seed: false, scope: 'worker' }).catch(exitWithStartupError);
  let stopping = false;
  let worker: Worker | undefined;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    say.info({ why }, 'stopping: no new jobs; waiting for running ones');
    // Jobs still running after this are left to expire and run again (handlers are idempotent).
    setTimeout(() => process.exit(0), 3_500).unref();
    await worker?.stop().catch(() => {});
    await closeProcessDeps().catch(() => {});
    if (booted.postgres?.owned) await booted.postgres.stop();
    process.exit(0);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => void stop(signal));
  onParentExit(() => void stop('parent exited'));
  worker = await startWorker(processDeps()).catch(exitWithStartupError);
  say.info('worker ready');
}

void main();
