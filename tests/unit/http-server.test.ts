// The production server's transport rules (server/http/server.ts) on a real node:http server and raw
// sockets: a body limit on every route while reading (413, connection closed), a slow body cut by the
// request timeout (408), the peer-address header overwritten, and the notify dispatch by pathname.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleNotifyNode } from '@/server/http/notify-node';
import { createAppServer, createRequestListener, pathnameOf, PEER_IP_HEADER } from '@/server/http/server';
import { logContext } from '@/server/log';

const MAX = 64 * 1024 + 1000; // just above the notify cap, so both limits are visible
let server: Server;
let port: number;
const seen: { url?: string; method?: string; bytes: number; peer?: string | string[]; rawPeer: string[]; requestId?: unknown }[] = [];
const notified: string[] = [];

async function app(req: IncomingMessage, res: ServerResponse) {
  const record = { url: req.url, method: req.method, bytes: 0, peer: req.headers[PEER_IP_HEADER], rawPeer: [] as string[] };
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === PEER_IP_HEADER) record.rawPeer.push(req.rawHeaders[i + 1] ?? '');
  seen.push(record);
  // Reads the whole body, as Next's route handlers and tRPC's fetch adapter do.
  for await (const chunk of req) record.bytes += (chunk as Buffer).length;
  (record as { requestId?: unknown }).requestId = logContext()?.requestId; // still the request's, after awaits
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`read ${record.bytes}`);
}

// No database in a unit test: the real notify entry answers what it can (413, 503) without one.
const noDatabase = () => {
  throw new Error('no database in a unit test');
};

beforeAll(async () => {
  const limits = { maxBodyBytes: MAX, requestTimeoutMs: 1500, headersTimeoutMs: 1500, keepAliveTimeoutMs: 5000 };
  server = createAppServer(
    createRequestListener({
      app,
      limits,
      notify: async (req, res) => {
        if (req.url?.includes('real')) return handleNotifyNode(noDatabase, req, res);
        notified.push(`${req.method} ${req.url}`);
        res.writeHead(204).end();
      },
    }),
    limits,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Sends raw bytes, optionally more chunks later; resolves with everything the server sent and whether it closed. */
function raw(head: string, chunks: (string | Buffer)[] = [], opts: { gapMs?: number; endAfter?: boolean } = {}): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(head);
    let i = 0;
    const next = () => {
      if (socket.destroyed) return;
      const chunk = chunks[i++];
      if (chunk === undefined) {
        if (opts.endAfter) socket.end();
        // Still open: report what we have after the server had its chance to answer.
        timer = setTimeout(() => {
          socket.destroy();
          resolve({ text, closed: false });
        }, 3000);
        return;
      }
      socket.write(chunk, () => setTimeout(next, opts.gapMs ?? 0));
    };
    next();
  });
}

const status = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);

describe('body limit on every route', () => {
  it('a declared Content-Length over the limit is answered 413 before any byte is read, and the connection closed', async () => {
    const before = seen.length;
    const r = await raw(`POST /api/trpc/checkout.create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${MAX + 1}\r\n\r\n`, [
      'x'.repeat(1000),
    ]);
    expect(status(r.text)).toBe(413);
    expect(r.text.toLowerCase()).toContain('connection: close');
    expect(r.closed).toBe(true);
    expect(seen.length).toBe(before); // the app never saw it
  });

  it('a chunked body that grows past the limit is cut at the limit: 413, closed, never buffered beyond it', async () => {
    const chunk = 'y'.repeat(16 * 1024);
    const body = Array.from({ length: 20 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const r = await raw(`POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, body, { gapMs: 5 });
    expect(status(r.text)).toBe(413);
    expect(r.closed).toBe(true);
    const last = seen.at(-1)!;
    expect(last.url).toBe('/api/v1/orders');
    expect(last.bytes).toBeLessThanOrEqual(MAX);
  });

  it('a body within the limit reaches the app whole', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/trpc/x`, { method: 'POST', body: 'z'.repeat(MAX) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`read ${MAX}`);
  });

  it('the notify route has its own 64 KB cap, answered in WeChat shape, and the connection closed', async () => {
    const chunk = 'n'.repeat(16 * 1024);
    const body = Array.from({ length: 8 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const r = await raw(`POST /api/wechatpay/notify?real=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`, body, {
      gapMs: 5,
    });
    expect(status(r.text)).toBe(413);
    expect(r.text).toContain('{"code":"FAIL","message":"body too large"}');
    expect(r.closed).toBe(true);
  });
});

describe('timeouts', () => {
  it('a body trickled in slowly is cut with 408 and the connection closed', async () => {
    const trickle = Array.from({ length: 40 }, () => 'a');
    const r = await raw(`POST /api/trpc/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n`, trickle, { gapMs: 200 });
    expect(status(r.text)).toBe(408);
    expect(r.closed).toBe(true);
  });

  it('headers that never finish are cut too', async () => {
    const r = await raw(
      `GET / HTTP/1.1\r\nHost: x\r\n`,
      Array.from({ length: 40 }, () => 'X-A: b\r\n'),
      { gapMs: 200 },
    );
    expect(status(r.text)).toBe(408);
    expect(r.closed).toBe(true);
  });
});

describe('peer address and dispatch', () => {
  it('overwrites a client-sent x-scanpay-peer-ip with the socket address', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/trpc/ip`, { headers: { [PEER_IP_HEADER]: '6.6.6.6', 'x-forwarded-for': '6.6.6.6' } });
    expect(res.status).toBe(200);
    const last = seen.at(-1)!;
    expect(last.peer).toBe('127.0.0.1');
    expect(last.rawPeer).toEqual(['127.0.0.1']);
  });

  it('sends POST /api/wechatpay/notify (with or without a query) to the notify entry, everything else to the app', async () => {
    notified.length = 0;
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/api/wechatpay/notify`, { method: 'POST', body: '{}' })).status).toBe(204);
    expect((await fetch(`${base}/api/wechatpay/notify?x=1`, { method: 'POST', body: '{}' })).status).toBe(204);
    expect((await fetch(`${base}/api/wechatpay/notifyx`, { method: 'POST', body: '{}' })).status).toBe(200);
    expect((await fetch(`${base}/api/wechatpay/notify/extra`, { method: 'POST', body: '{}' })).status).toBe(200);
    expect((await fetch(`${base}/api/wechatpay/notify`)).status).toBe(200);
    expect(notified).toEqual(['POST /api/wechatpay/notify', 'POST /api/wechatpay/notify?x=1']);
  });

  it('gives every request an id, in its log context through awaits and in the answer; a sane proxy id is kept', async () => {
    const base = `http://127.0.0.1:${port}/api/trpc/id`;
    const a = await fetch(base, { method: 'POST', body: 'x' });
    const idA = a.headers.get('x-request-id');
    expect(idA).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.at(-1)!.requestId).toBe(idA);
    const b = await fetch(base, { method: 'POST', body: 'x' });
    expect(b.headers.get('x-request-id')).not.toBe(idA);
    const kept = await fetch(base, { method: 'POST', body: 'x', headers: { 'x-request-id': 'proxy-req-12345678' } });
    expect(kept.headers.get('x-request-id')).toBe('proxy-req-12345678');
    expect(seen.at(-1)!.requestId).toBe('proxy-req-12345678');
    // A client cannot put arbitrary text on our log lines.
    const forged = await fetch(base, { method: 'POST', body: 'x', headers: { 'x-request-id': 'bad id {"level":60} with a space' } });
    expect(forged.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('matches the pathname of origin-form and absolute-form targets', () => {
    expect(pathnameOf('/api/wechatpay/notify?a=b')).toBe('/api/wechatpay/notify');
    expect(pathnameOf('/api/wechatpay/notify#x')).toBe('/api/wechatpay/notify');
    expect(pathnameOf('http://shop.example/api/wechatpay/notify?a')).toBe('/api/wechatpay/notify');
    expect(pathnameOf(undefined)).toBe('/');
  });
});
