// A business system's webhook receiver, in its own process so its work does not share the benchmark's
// event loop: node:http, answers 204 at once, records (path, webhook-id, receive time) and verifies a
// sample of the signatures with the `standardwebhooks` package (an independent implementation).
// Protocol (IPC): {type:'secrets', secrets:{[path]: whsec}, sampleEvery, delays?:{[path]: ms}} → {type:'ok'}
// (a path in `delays` answers that many ms after its request: a slow business system);
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

type Msg = { type: 'secrets'; secrets: Record<string, string>; sampleEvery: number; delays?: Record<string, number> } | { type: 'take' };

const port = Number(process.env.RECEIVER_PORT);
let verifiers = new Map<string, Webhook>();
let sampleEvery = 50;
let delays: Record<string, number> = {};
let hits: Hit[] = [];
let seq = 0;
let verified = 0;
let badSignatures = 0;

const server = createServer((req, res) => {
  const at = nowMs();
  const id = String(req.headers['webhook-id'] ?? '');
  const path = req.url ?? '/';
  hits.push({ path, id, at });
  const delay = delays[path] ?? 0;
  const answer = () => (delay ? setTimeout(() => res.writeHead(204).end(), delay) : res.writeHead(204).end());
  // The first request and every sampleEvery-th after it.
  const verify = seq++ % sampleEvery === 0 ? verifiers.get(path) : undefined;
  if (!verify) {
    // Drain the body without keeping it: answering before reading it all would break keep-alive.
    req.resume();
    req.on('end', answer);
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
    answer();
  });
});
server.keepAliveTimeout = 30_000;

process.on('message', (m: Msg) => {
  if (m.type === 'secrets') {
    verifiers = new Map(Object.entries(m.secrets).map(([p, s]) => [p, new Webhook(s)]));
    sampleEvery = Math.max(1, m.sampleEvery);
    delays = m.delays ?? {};
    process.send?.({ type: 'ok' });
  } else if (m.type === 'take') {
    process.send?.({ type: 'hits', hits, verified, badSignatures });
    hits = [];
    verified = 0;
    badSignatures = 0;
  }
});

server.listen(port, '127.0.0.1', () => process.send?.({ type: 'listening' }));
