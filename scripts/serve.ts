// The production web server (`npm start` runs it): Next.js on a Node cluster of WEB_CONCURRENCY processes
// (default: one per core, see scripts/lib/process-sizing.ts; a single process needs no cluster); and the
// WeChat notify endpoint served straight on
// node:http (same ingestNotificationBytes as the Next route), because it is the one hot path WeChat
// hammers and Next adds ~0.5 ms of CPU to every request. `npm start` runs the job worker as its own
// process and starts this with RUN_WORKER=false; run directly with RUN_WORKER unset, the first process
// runs the worker in-process.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import next from 'next';
import { assertSupportedNode } from '@/server/runtime';
import { WEB_DB_POOL_PER_PROCESS, webProcesses } from './lib/process-sizing';

assertSupportedNode();
const port = Number(process.env.PORT ?? 3000);
const hostname = process.env.HOST ?? '127.0.0.1';
const processes = webProcesses();

if (cluster.isPrimary && processes > 1) {
  let stopping = false;
  const fork = (index: number) => {
    const worker = cluster.fork({
      WEB_PROCESS_INDEX: String(index),
      SCANPAY_PROCESS_NAME: `scanpay-web${index}`,
      RUN_WORKER: index === 0 ? (process.env.RUN_WORKER ?? 'true') : 'false',
      // Several processes share one Postgres: keep each pool modest (see docs/operations.md).
      DB_POOL_MAX: process.env.DB_POOL_MAX ?? String(WEB_DB_POOL_PER_PROCESS),
      PGBOSS_POOL_MAX: process.env.PGBOSS_POOL_MAX ?? (index === 0 && process.env.RUN_WORKER !== 'false' ? '4' : '2'),
    });
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      console.error(`[web] process ${index} exited (${signal ?? code}); restarting it`);
      setTimeout(() => fork(index), 500);
    });
  };
  for (let i = 0; i < processes; i++) fork(i);
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    const timer = setTimeout(() => process.exit(0), 20_000);
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearTimeout(timer);
        process.exit(0);
      }
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const app = next({ dev: false, hostname, port, dir: process.cwd() });
  const handle = app.getRequestHandler();
  const { handleNotifyNode } = await import('@/server/http/notify-node');
  const { processDeps } = await import('@/server/deps');
  await app.prepare();
  const server = createServer((req, res) => {
    if (req.method === 'POST' && (req.url === '/api/wechatpay/notify' || req.url?.startsWith('/api/wechatpay/notify?'))) {
      handleNotifyNode(processDeps, req, res).catch((err: unknown) => {
        console.error('[notify] unexpected error', err instanceof Error ? err.message : err);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'FAIL', message: 'internal error' }));
      });
      return;
    }
    void handle(req, res);
  });
  server.keepAliveTimeout = 65_000; // longer than common proxies' idle timeouts
  server.listen(port, hostname, () => {
    if ((process.env.WEB_PROCESS_INDEX ?? '0') === '0') console.log(`[web] ${processes} process(es) listening on http://${hostname}:${port}`);
  });
  const stop = async () => {
    // Stop taking requests, let the in-process job worker finish what it holds, then leave.
    setTimeout(() => process.exit(0), 20_000).unref();
    await new Promise((resolve) => server.close(resolve));
    const { stopWebProcess } = await import('@/server/web-boot');
    await stopWebProcess().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}
