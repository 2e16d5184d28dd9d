// The floor the app's web tier adds to: ONE bare node:http process doing exactly what a web process of
// `npm start` does for POST /api/wechatpay/notify — it calls the very same handler (`handleNotifyNode` →
// `ingestNotificationBytes`: same verification over the raw bytes, same AES-GCM decryption, same inbox
// insert + prepared pg-boss enqueue in one transaction, same pools, keys and database) with nothing around
// it: no cluster, no Next, no job worker.
import { createServer } from 'node:http';
import { closeProcessDeps, processDeps } from '@/server/deps';
import { handleNotifyNode } from '@/server/http/notify-node';
import { exitWithParent } from './lib/procs';

exitWithParent();
const port = Number(process.env.PORT);

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/api/wechatpay/notify') {
    res.writeHead(404).end();
    return;
  }
  handleNotifyNode(processDeps, req, res).catch((err: unknown) => {
    console.error('[baseline]', err);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;

async function main() {
  // Create the lazily-made singletons before the first request, as a warmed-up web process has them.
  processDeps().gateway();
  server.listen(port, '127.0.0.1', () => console.log(`[baseline] listening on ${port}`));
  const stop = async () => {
    server.close();
    await closeProcessDeps();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

void main();
