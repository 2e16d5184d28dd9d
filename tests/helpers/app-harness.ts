// Integration harness: the real simulator over HTTP, a real HTTP server in front of the app's own route
// handlers (app/api/trpc, app/api/wechatpay/notify — the modules Next serves), the real pg-boss worker,
// the real embedded Postgres. The production server's node:http entry is tested beside it
// (notify-endpoints.test.ts) and, as `npm start` runs it, in the system suites.
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import type { Db } from '@/db/client';
import { runMigrations } from '@/db/migrate';
import { ensureQueues } from '@/server/queue/boss';
import { seedDemoCatalogue } from '@/db/seed';
import { POST as notifyRoute } from '@/app/api/wechatpay/notify/route';
import { GET as trpcGet, POST as trpcPost } from '@/app/api/trpc/[trpc]/route';
import { closeProcessDeps, processDeps, type AppDeps } from '@/server/deps';
import { loadEnv, resetEnvCache } from '@/server/env';
import { startWorker, type Worker } from '@/server/jobs/worker';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ensureSimulatorCredentials, type SimCredentials } from '@/simulator/credentials';
import { startSimulator } from '@/simulator/server';

export interface CapturedNotification {
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface Harness {
  /** The app's dependencies as its route handlers and worker use them. */
  deps: AppDeps;
  db: Db;
  /**
   * While true, notifications do not reach the app at all (WeChat → us network outage): the harness's
   * front answers 503 itself. The app's own 503 (database down) is tested in notify-outage.test.ts.
   */
  notifyOutage: boolean;
  simUrl: string;
  appUrl: string;
  credentials: SimCredentials;
  captured: CapturedNotification[];
  /** Moves the app's clock (deps.clock) forward: a QR code "expires" without the test sleeping. */
  advanceClock(ms: number): void;
  /** POSTs raw bytes to the notify endpoint, as WeChat would. */
  postNotify(headers: Record<string, string>, body: string): Promise<Response>;
  simPay(codeUrl: string): Promise<{ out_trade_no: string; transaction_id: string }>;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

export async function startHarness(
  opts: {
    worker?: boolean;
    env?: Record<string, string>;
    /** Run the app as a live merchant (credentials in env vars, no WeChat key configured: certificates downloaded). */
    live?: boolean;
    /**
     * A database of this file's own (same cluster, migrated afresh) for tests that compare whole days or
     * all rows — statistics, reconciliation, watchlists — which other files' orders would otherwise join.
     */
    ownDatabase?: boolean;
  } = {},
): Promise<Harness> {
  const sharedUrl = process.env.DATABASE_URL!;
  const own = opts.ownDatabase ? await createOwnDatabase(sharedUrl) : null;
  if (own) process.env.DATABASE_URL = own.url;
  const databaseUrl = process.env.DATABASE_URL!;
  const dir = mkdtempSync(path.join(tmpdir(), 'scanpay-it-'));
  const credentialsFile = path.join(dir, 'credentials.json');
  const credentials = await ensureSimulatorCredentials(credentialsFile);

  const captured: CapturedNotification[] = [];
  const state = { notifyOutage: false };
  const notifyServer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      signal: abortOnClose(req, res),
    });
    let response: Response;
    if (req.url?.startsWith('/api/trpc/')) {
      // The Next route module itself, incl. SSE subscriptions.
      response = await (req.method === 'GET' ? trpcGet(request) : trpcPost(request));
    } else if (state.notifyOutage) {
      response = Response.json({ code: 'FAIL', message: 'outage' }, { status: 503 });
      captured.push({ headers, body: body.toString('utf8'), status: 503 });
    } else {
      response = await notifyRoute(request);
      captured.push({ headers, body: body.toString('utf8'), status: response.status });
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return res.end();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
    } catch {
      // client went away
    }
    res.end();
  });
  const appUrl = await listen(notifyServer);

  const sim = await startSimulator({ port: 0, databaseUrl, credentials, timeScale: 0.001, merchantName: 'Test Shop' });
  if (opts.live) {
    // A merchant not yet migrated to the public key: WeChat signs everything with its platform certificate.
    const res = await fetch(`${sim.url}/_sim/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"keyMode":"certificate"}' });
    if (!res.ok) throw new Error(`could not set the simulator's key mode: ${res.status}`);
  }

  const live = opts.live
    ? {
        WECHATPAY_MODE: 'live',
        WECHATPAY_MCHID: credentials.mchid,
        WECHATPAY_APPID: credentials.appid,
        WECHATPAY_MERCHANT_SERIAL: credentials.merchant.serial,
        WECHATPAY_MERCHANT_PRIVATE_KEY: credentials.merchant.privateKeyPem,
        WECHATPAY_APIV3_KEY: credentials.apiv3Key,
      }
    : { WECHATPAY_MODE: 'simulator' };
  Object.assign(process.env, {
    // Files share one database, and with it the per-IP checkout window: a file's own test of the limit sets it.
    CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000',
    ...opts.env,
    ...live,
    SIM_CREDENTIALS_FILE: credentialsFile,
    WECHATPAY_BASE_URL: sim.url,
    APP_URL: appUrl,
    WECHATPAY_TIMEOUT_MS: '3000',
  });
  resetEnvCache();
  await closeProcessDeps();
  loadEnv();
  const deps = processDeps();
  let offsetMs = 0;
  deps.clock = { now: () => new Date(Date.now() + offsetMs) };
  const gateway = deps.gateway();
  if (gateway.certificates) await gateway.certificates.refresh();
  await seedDemoCatalogue(deps.db);
  const worker: Worker | undefined = opts.worker !== false ? await startWorker(deps) : undefined;

  return {
    deps,
    db: deps.db,
    get notifyOutage() {
      return state.notifyOutage;
    },
    set notifyOutage(value: boolean) {
      state.notifyOutage = value;
    },
    advanceClock(ms) {
      offsetMs += ms;
    },
    simUrl: sim.url,
    appUrl,
    credentials,
    captured,
    postNotify(headers, body) {
      // Replay WeChat's signature headers, not the transport ones of the original request.
      const { 'content-length': _l, host: _h, connection: _c, 'transfer-encoding': _t, ...replayable } = headers;
      return fetch(`${appUrl}/api/wechatpay/notify`, {
        method: 'POST',
        headers: { ...replayable, 'content-type': 'application/json' },
        body,
      });
    },
    async simPay(codeUrl) {
      const res = await fetch(`${sim.url}/_sim/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code_url: codeUrl }),
      });
      if (!res.ok) throw new Error(`sim pay failed: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async close() {
      await worker?.stop();
      await sim.close();
      await new Promise((r) => notifyServer.close(r));
      await closeProcessDeps();
      if (own) {
        process.env.DATABASE_URL = sharedUrl;
        await own.drop();
      }
    },
  };
}

/** A fresh database beside the shared one, migrated and with the queues, dropped when the file is done. */
async function createOwnDatabase(sharedUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `scanpay_it_${process.pid}_${Date.now()}`;
  const admin = postgres(sharedUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(sharedUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  await ensureQueues(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(sharedUrl, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function abortOnClose(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  req.once('aborted', () => controller.abort());
  return controller.signal;
}

/** tRPC over plain HTTP, as another tool would call it (superjson envelope). */
export async function trpcCall<T = any>(
  appUrl: string,
  path: string,
  input: unknown,
  kind: 'query' | 'mutation' = 'query',
  headers: Record<string, string> = {},
): Promise<{ status: number; data?: T; error?: any }> {
  const url = `${appUrl}/api/trpc/${path}`;
  const res =
    kind === 'query'
      ? await fetch(`${url}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers })
      : await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ json: input }) });
  const body = await res.json();
  return { status: res.status, data: body.result?.data?.json, error: body.error?.json };
}

/** Opens the SSE stream of a tRPC subscription and yields each data payload (superjson-decoded "json"). */
export async function* sseEvents(appUrl: string, path: string, input: unknown, signal: AbortSignal): AsyncGenerator<any> {
  const res = await fetch(`${appUrl}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, {
    headers: { accept: 'text/event-stream' },
    signal,
  });
  if (!res.ok || !res.body) throw new Error(`SSE failed: ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let idx: number;
    while ((idx = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('\n');
      const type = event
        .split('\n')
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      if (!data || type === 'ping' || type === 'connected') continue;
      const parsed = JSON.parse(data);
      yield parsed?.json ?? parsed;
    }
  }
}
