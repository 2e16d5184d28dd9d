// A local webhook receiver for tests: records every request, answers with whatever `behave` says
// (a status, a delay, a hang, or a closed connection).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  headers: Record<string, string>;
  body: string;
  answered: number | 'hang' | 'drop';
}

export type Behaviour = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | { hang: true } | { drop: true };

export interface Receiver {
  url: string;
  received: Received[];
  /** Most requests it held at once. */
  maxInFlight: number;
  behave: (req: { headers: Record<string, string>; body: string; n: number }) => Behaviour;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  let inFlight = 0;
  const state: Receiver = { url: '', received: [], maxInFlight: 0, behave: () => ({ status: 200 }), close: async () => undefined };
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const b = state.behave({ headers, body, n: state.received.length });
    const entry: Received = { at: Date.now(), headers, body, answered: 'hang' in b ? 'hang' : 'drop' in b ? 'drop' : b.status };
    state.received.push(entry);
    if ('hang' in b) return; // never answers
    if ('drop' in b) return void req.socket.destroy();
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
    inFlight--;
    res.writeHead(b.status, { 'content-type': 'text/plain', ...b.headers });
    res.end(b.body ?? 'ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
