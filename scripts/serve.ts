// The web server of `npm start` and `npm run dev`: Next.js behind our own node:http server
// (server/http/server.ts: a body limit on every route, request and header timeouts, the peer-address
// header, the bare node:http notify entry). `--dev` runs Next in development mode in one process; otherwise
// a Node cluster of WEB_CONCURRENCY processes (default: one per core, see scripts/lib/process-sizing.ts; a
// single process needs no cluster). `npm start` runs the job worker as its own process and starts this
// with RUN_WORKER=false; run directly with RUN_WORKER unset, the first process runs the worker in-process.
// A web process that dies is restarted by the cluster primary, ever more slowly while it keeps dying.
import cluster from 'node:cluster';
import next from 'next';
import { loadEnv } from '@/server/env';
import { errorFields, log } from '@/server/log';
import { assertSupportedNode } from '@/server/runtime';
import { processDeps } from '@/server/deps';
import { createAppServer, createRequestListener } from '@/server/http/server';
import { exitWithStartupError } from './lib/boot';
import { Backoff, onParentExit, STOP_SIGNALS } from './lib/processes';
import { webProcessEnv, webProcesses } from './lib/process-sizing';

assertSupportedNode();
const dev = process.argv.includes('--dev');
const env = (() => {
  try {
    return loadEnv();
  } catch (err) {
    return exitWithStartupError(err);
  }
})();
const say = log('web');
const processes = dev ? 1 : webProcesses();

if (cluster.isPrimary && processes > 1) {
  let stopping = false;
  const fork = (index: number, backoff: Backoff) => {
    const startedAt = Date.now();
    const worker = cluster.fork(webProcessEnv(index));
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      const delay = backoff.next(Date.now() - startedAt);
      say.error(
        { index, code, signal, restartInMs: delay },
        `web process ${index} exited (${signal ?? code}); restarting it in ${(delay / 1000).toFixed(0)} s`,
      );
      setTimeout(() => !stopping && fork(index, backoff), delay).unref();
    });
  };
  for (let i = 0; i < processes; i++) fork(i, new Backoff());
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    say.info({ why }, 'stopping web processes');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    // Each web process stops within 3.5 s (below); then whatever is left is killed.
    const timer = setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(0);
    }, 4_000);
    const check = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearTimeout(timer);
        process.exit(0);
      }
    };
    cluster.on('exit', check);
    check();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => stop(signal));
  onParentExit(() => stop('parent exited'));
  process.on('exit', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
  });
} else {
  const app = next({ dev, hostname: env.HOST, port: env.PORT, dir: process.cwd() });
  const handle = app.getRequestHandler();
  await app.prepare();
  const limits = {
    maxBodyBytes: env.MAX_BODY_BYTES,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: env.HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: 65_000,
  };
  const server = createAppServer(
    createRequestListener({
      app: handle,
      deps: processDeps,
      limits,
      onError: (err, where) => log(where === 'notify' ? 'notify' : 'web').error(errorFields(err), 'unexpected error'),
    }),
    limits,
  );
  server.listen(env.PORT, env.HOST, () => {
    if ((process.env.WEB_PROCESS_INDEX ?? '0') === '0')
      say.info(`${processes} process(es) listening on http://${env.HOST}:${env.PORT}${dev ? ' (development)' : ''}`);
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Stop taking requests, let the in-process job worker finish what it holds, then leave.
    setTimeout(() => process.exit(0), 3_500).unref();
    server.close();
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2_000).unref(); // SSE streams never end by themselves
    // The in-process worker gets 3 s; jobs still running then expire and run again (handlers are
    // idempotent). Next's dev server is not closed: it would first persist its compile cache (seconds).
    const { stopWebProcess } = await import('@/server/web-boot');
    await Promise.race([stopWebProcess().catch(() => {}), new Promise((r) => setTimeout(r, 3_000))]);
    process.exit(0);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => void stop());
  onParentExit(() => void stop());
}
