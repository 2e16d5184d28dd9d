// Start-up of a web process: check the runtime and config, then start the in-process worker unless
// RUN_WORKER=false. A globalThis flag keeps it to once per process (Next may call register() again in dev).
import { loadEnv } from './env';
import { assertSupportedNode } from './runtime';

export async function bootWebProcess(): Promise<void> {
  const flag = globalThis as unknown as { __scanpayBooted?: boolean };
  if (flag.__scanpayBooted) return;
  flag.__scanpayBooted = true;

  assertSupportedNode();
  const env = loadEnv();
  if (!env.RUN_WORKER) return;
  const { startWorker, stopWorker } = await import('./jobs/worker');
  await startWorker();
  const stop = () => {
    stopWorker().catch((err) => console.error('[worker] stop failed', err));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
