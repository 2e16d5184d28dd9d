// A business system's webhook receiver, in its own process so its work does not share the benchmark's
// event loop: node:http, answers 204 at once, records (path, webhook-id, receive time) and verifies a
// sample of the signatures with the `standardwebhooks` package (an independent implementation).
// Protocol (IPC): {type:'secrets', secrets:{[path]: whsec}, sampleEvery} → {type:'ok'};
// {type:'take'} → {type:'hits', hits, verified, badSignatures} (and forgets them).
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { exitWithParent } from './lib/procs';
import { nowMs } from './lib/stats';

exitWithParent();

export interface Hit {
  path: string;
  id: string;
  at: number;
}

type Msg = { type: 'secrets'; secrets: Record<string, string>; sampleEvery: number } | { type: 'take' };

const port = Number(process.env.RECEIVER_PORT);
let verifiers = new Map<string, Webhook>();
let sampleEvery = 50;
let hits: Hit[] = [];
let seq = 0;
let verified = 0;
let badSignatures = 0;

const server = createServer((req, res) => {
  const at = nowMs();
  const id = String(req.headers['webhook-id'] ?? '');
  const path = req.url ?? '/';
  hits.push({ path, id, at });
  // The first request and every sampleEvery-th after it.
  const verify = seq++ % sampleEvery === 0 ? verifiers.get(path) : undefined;
  if (!verify) {
    // Drain the body without keeping it: answering before reading it all would break keep-alive.
    req.resume();
    req.on('end', () => res.writeHead(204).end());
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      verify.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
      verified++;
    } catch {
      badSignatures++;
    }
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 30_000;

process.on('message', (m: Msg) => {
  if (m.type === 'secrets') {
    verifiers = new Map(Object.entries(m.secrets).map(([p, s]) => [p, new Webhook(s)]));
    sampleEvery = Math.max(1, m.sampleEvery);
    process.send?.({ type: 'ok' });
  } else if (m.type === 'take') {
    process.send?.({ type: 'hits', hits, verified, badSignatures });
    hits = [];
    verified = 0;
    badSignatures = 0;
  }
});

server.listen(port, '127.0.0.1', () => process.send?.({ type: 'listening' }));
