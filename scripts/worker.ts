// `npm run worker`: the pg-boss workers alone (run the web with RUN_WORKER=false to scale them apart).
// With DATABASE_URL unset it uses (or starts) the same embedded Postgres as `npm run dev`.
import { closeProcessDeps, processDeps } from '@/server/deps';
import { startWorker, type Worker } from '@/server/jobs/worker';
import { bootDatabase, exitWithStartupError, log, onParentExit } from './lib/boot';

const say = log('worker');

async function main() {
  process.env.SCANPAY_PROCESS_NAME ??= 'scanpay-worker';
  const booted = await bootDatabase({ seed: false, scope: 'worker' }).catch(exitWithStartupError);
  let stopping = false;
  let worker: Worker | undefined;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping: no new jobs; waiting for running ones');
    await worker?.stop();
    await closeProcessDeps();
    if (booted.postgres?.owned) await booted.postgres.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  onParentExit(() => void stop());
  worker = await startWorker(processDeps()).catch(exitWithStartupError);
  say('ready');
}

void main();
