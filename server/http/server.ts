// The production HTTP server's transport rules, for every route (scripts/serve.ts runs Next behind it,
// in production and in dev):
// - a body limit enforced while reading: a declared Content-Length over the limit, or a body that grows
//   past it, is answered 413 and the connection closed, so no request buffers more than the limit;
// - request and header timeouts: a body trickled in slowly is cut (408) within seconds;
// - the peer address: `x-scanpay-peer-ip` is overwritten with the socket's remote address on every
//   request (a client-sent one is dropped), so the app can decide the client IP from it plus an explicit
//   number of trusted proxies;
// - the URL dispatch: POST /api/wechatpay/notify goes to the bare node:http notify entry, the rest to Next.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { observeHttp } from '@/server/metrics/process-metrics';
import type { IngestDeps } from '@/server/payments/ingest-notification';
import { answerAndClose, handleNotifyNode } from './notify-node';
import { declaredLength } from './raw-body';

import { PEER_IP_HEADER } from '@/server/client-ip';
import { withLogContext } from '@/server/log';

export { PEER_IP_HEADER };
export const NOTIFY_PATH = '/api/wechatpay/notify';

export interface HttpLimits {
  /** Largest request body of any route, in bytes. */
  maxBodyBytes: number;
  /** Time to receive a whole request, headers and body (Node's requestTimeout). */
  requestTimeoutMs: number;
  /** Time to receive the headers (Node's headersTimeout). */
  headersTimeoutMs: number;
  /** Idle keep-alive connections are closed after this (longer than common proxies' idle timeouts). */
  keepAliveTimeoutMs: number;
}

/** The path of a request target, for origin-form (`/a?b`) and absolute-form (`http://h/a?b`) alike. */
export function pathnameOf(url: string | undefined): string {
  const target = url ?? '/';
  if (target.startsWith('/')) {
    const end = target.search(/[?#]/);
    return end < 0 ? target : target.slice(0, end);
  }
  try {
    return new URL(target).pathname;
  } catch {
    return target;
  }
}

export function isNotifyRequest(req: IncomingMessage): boolean {
  return req.method === 'POST' && pathnameOf(req.url) === NOTIFY_PATH;
}

/** Overwrites the peer-address header with the socket's address (a client-sent value never survives). */
export function setPeerIp(req: IncomingMessage): void {
  const ip = req.socket.remoteAddress ?? '';
  req.headers[PEER_IP_HEADER] = ip;
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]?.toLowerCase() === PEER_IP_HEADER) raw.splice(i, 2);
  raw.push(PEER_IP_HEADER, ip);
}

const tooLarge = (max: number) => JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: `request body larger than ${max} bytes` } });

/**
 * Enforces `max` on the request body while it is read, whoever reads it: the declared length first, then
 * every chunk the HTTP parser pushes into the request stream is counted. Returns false when it already
 * answered (declared too large).
 */
export function limitBody(req: IncomingMessage, res: ServerResponse, max: number): boolean {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > max) {
    answerAndClose(res, 413, tooLarge(max));
    return false;
  }
  let seen = 0;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null && chunk !== undefined) {
      seen += (chunk as Buffer).length;
      if (seen > max) {
        req.push = () => false; // drop everything after the limit
        answerAndClose(res, 413, tooLarge(max));
        return false;
      }
    }
    return push(chunk, encoding);
  };
  return true;
}

export interface Dispatch {
  /** Next's request handler (or anything else that serves the app's other routes). */
  app: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
  /** The dependencies of the notify entry (handleNotifyNode); or `notify` to replace it. */
  deps?: () => IngestDeps;
  notify?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  limits: Pick<HttpLimits, 'maxBodyBytes'>;
  onError?: (err: unknown, where: 'notify' | 'app') => void;
}

export function createRequestListener(d: Dispatch): RequestListener {
  const deps = d.deps;
  const notify =
    d.notify ??
    ((req: IncomingMessage, res: ServerResponse) => {
      if (!deps) throw new Error('createRequestListener: no notify dependencies');
      return handleNotifyNode(deps, req, res, d.limits.maxBodyBytes);
    });
  return (req, res) => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    withLogContext({ requestId }, () => dispatch(req, res));
  };
  function dispatch(req: IncomingMessage, res: ServerResponse): void {
    setPeerIp(req);
    if (isNotifyRequest(req)) {
      // Its own, smaller cap while reading (64 KB); answered in WeChat's {"code":"FAIL"} shape.
      notify(req, res).catch((err: unknown) => {
        d.onError?.(err, 'notify');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'FAIL', message: 'internal error' }));
      });
      return;
    }
    if (!limitBody(req, res, d.limits.maxBodyBytes)) return;
    // Latency of every other route, for /api/metrics (the notify branch above stays as it is).
    const started = performance.now();
    res.once('finish', () => observeHttp(req.method ?? 'OTHER', res.statusCode, (performance.now() - started) / 1000));
    Promise.resolve(d.app(req, res)).catch((err: unknown) => {
      d.onError?.(err, 'app');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    });
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/** A proxy's request id when it sent a sane one (so lines join across hops), else a fresh one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** A node:http server with the timeouts applied (checked every second, so a slow body is cut on time). */
export function createAppServer(listener: RequestListener, limits: HttpLimits): Server {
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      connectionsCheckingInterval: 1_000,
    },
    listener,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  return server;
}
