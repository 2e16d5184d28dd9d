// Integration harness: the real simulator over HTTP, a real HTTP server in front of the same
// ingestNotification function the Next route calls, the real pg-boss worker, the real embedded Postgres.
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { closeDb, getDb } from '@/db/client';
import { seedDemoCatalogue } from '@/db/seed';
import { loadEnv, resetEnvCache } from '@/server/env';
import { stopWorker, startWorker } from '@/server/jobs/worker';
import { getGateway, resetGateway } from '@/server/payments/gateway';
import { ingestNotification } from '@/server/payments/ingest-notification';
import { ensureSimulatorCredentials, type SimCredentials } from '@/simulator/credentials';
import { startSimulator } from '@/simulator/server';

export interface CapturedNotification {
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface Harness {
  simUrl: string;
  appUrl: string;
  credentials: SimCredentials;
  captured: CapturedNotification[];
  /** POSTs raw bytes to the notify endpoint, as WeChat would. */
  postNotify(headers: Record<string, string>, body: string): Promise<Response>;
  simPay(codeUrl: string): Promise<{ out_trade_no: string; transaction_id: string }>;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

export async function startHarness(opts: { worker?: boolean } = {}): Promise<Harness> {
  const databaseUrl = process.env.DATABASE_URL!;
  const dir = mkdtempSync(path.join(tmpdir(), 'scanpay-it-'));
  const credentialsFile = path.join(dir, 'credentials.json');
  const credentials = await ensureSimulatorCredentials(credentialsFile);

  const captured: CapturedNotification[] = [];
  const notifyServer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const request = new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body });
    const { response } = await ingestNotification(request);
    captured.push({ headers, body: body.toString('utf8'), status: response.status });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  const appUrl = await listen(notifyServer);

  const sim = await startSimulator({ port: 0, databaseUrl, credentials, timeScale: 0.001, merchantName: 'Test Shop' });

  Object.assign(process.env, {
    WECHATPAY_MODE: 'simulator',
    SIM_CREDENTIALS_FILE: credentialsFile,
    WECHATPAY_BASE_URL: sim.url,
    APP_URL: appUrl,
    WECHATPAY_TIMEOUT_MS: '3000',
  });
  resetEnvCache();
  resetGateway();
  loadEnv();
  getGateway();
  await seedDemoCatalogue(getDb());
  if (opts.worker !== false) await startWorker();

  return {
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
      await stopWorker();
      await sim.close();
      await new Promise((r) => notifyServer.close(r));
      await closeDb();
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
