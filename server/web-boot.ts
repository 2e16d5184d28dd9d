// Start-up of a web process: check the runtime and config, then start the in-process worker unless
// RUN_WORKER=false. A globalThis flag keeps it to once per process (Next may call register() again in dev).
import { processDeps } from './deps';
import { loadEnv } from './env';
import { errorFields, log } from './log';
import { assertSupportedNode } from './runtime';

export async function bootWebProcess(): Promise<void> {
  const flag = globalThis as unknown as { __scanpayBooted?: boolean; __scanpayWorker?: { stop(): Promise<void> } };
  if (flag.__scanpayBooted) return;
  flag.__scanpayBooted = true;

  assertSupportedNode();
  const env = loadEnv();
  // Credentials parsed now: a bad key stops this process at start-up, naming the variable, instead of a
  // shopper's order failing after its row was written.
  processDeps().gateway();
  const { startMetricsFlush } = await import('./metrics/process-metrics');
  startMetricsFlush(processDeps().db);
  if (!env.RUN_WORKER) return;
  const { startWorker } = await import('./jobs/worker');
  const worker = await startWorker(processDeps());
  flag.__scanpayWorker = worker;
  const stop = () => {
    worker.stop().catch((err: unknown) => log('worker').error(errorFields(err), 'stop failed'));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Stops this web process's in-process worker, if it runs one (the production server's shutdown). */
export async function stopWebProcess(): Promise<void> {
  const flag = globalThis as unknown as { __scanpayWorker?: { stop(): Promise<void> } };
  await flag.__scanpayWorker?.stop();
}
