// The common peer design, for comparison (Jeepay and most hand-written handlers): a bare node:http
// server that processes the payment INSIDE the notify request — verify and decrypt, then in one
// transaction lock attempt and order, cross-check, update, timeline, outbox — and only then answers
// WeChat. It uses Scanpay's own domain functions, so the difference measured is the design (store and
// acknowledge, process in a job) and nothing else.
import { createServer } from 'node:http';
import { closeProcessDeps, processDeps } from '@/server/deps';
import { nodeHeaders, readNodeBody } from '@/server/http/raw-body';
import { paymentContext } from '@/server/payments/context';
import { MAX_NOTIFY_BODY_BYTES } from '@/server/payments/ingest-notification';
import { applyPaymentResult } from '@/server/payments/payment-result';
import { parseNotification, parseTransactionResource } from '@/server/wechatpay/notification';
import { exitWithParent } from './lib/procs';

exitWithParent();
const port = Number(process.env.PORT);
const deps = processDeps();

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/api/wechatpay/notify') {
    res.writeHead(404).end();
    return;
  }
  void (async () => {
    const body = await readNodeBody(req, MAX_NOTIFY_BODY_BYTES);
    if (!body) return res.writeHead(413).end();
    const gateway = deps.gateway();
    const parsed = parseNotification({ headers: nodeHeaders(req), body, verifier: gateway.verifier, apiv3Key: gateway.apiv3Key });
    if (!parsed.ok) return res.writeHead(401).end();
    const t = parseTransactionResource(parsed.resource);
    if (!t.success) return res.writeHead(400).end();
    await deps.db.transaction((tx) => applyPaymentResult(tx, t.data, paymentContext(deps, 'notify')));
    res.writeHead(204).end();
  })().catch(() => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;

deps.gateway(); // keys parsed before the first request, as a warmed-up process has them
server.listen(port, '127.0.0.1', () => console.log(`[peer] listening on ${port}`));
const stop = async () => {
  server.close();
  await closeProcessDeps();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
