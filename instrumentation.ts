// Runs once per Next server instance (not during `next build`): checks the runtime and starts the
// in-process worker unless RUN_WORKER=false.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const flag = globalThis as unknown as { __scanpayRegistered?: boolean };
  if (flag.__scanpayRegistered) return;
  flag.__scanpayRegistered = true;

  const { assertSupportedNode } = await import('./server/runtime');
  assertSupportedNode();
  const { loadEnv } = await import('./server/env');
  const env = loadEnv();
  if (env.RUN_WORKER) {
    const { startWorker, stopWorker } = await import('./server/jobs/worker');
    await startWorker();
    const stop = () => {
      stopWorker().catch((err) => console.error('[worker] stop failed', err));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }
}
