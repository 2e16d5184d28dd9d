// The WeChat Pay API v3 simulator: a bare node:http server (DESIGN §1, §4). State lives in Postgres under
// the wechatpay_sim schema, so several processes can share it and a restart loses no order or notification.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadPublicKey } from '../server/wechatpay/crypto';
import { handleApi } from './api';
import type { SimContext } from './context';
import { handleControl } from './control';
import type { SimCredentials } from './credentials';
import { Keyring, sendJson } from './http';
import { createFaultStore, TIMEOUT_HOLD_MS } from './faults';
import { startNotifier } from './notifier';
import { settleDueRefunds } from './refunds';
import { handlePhonePage } from './phone-page';
import { createPool, migrate } from './store';

export interface SimulatorOptions {
  port: number;
  /** Defaults to 127.0.0.1: the control API hands out private keys. */
  host?: string;
  databaseUrl: string;
  credentials: SimCredentials;
  /**
   * SIM_TIME_SCALE: multiplies notification retry delays, the 1-minute minimum order validity and the time a
   * refund stays PROCESSING. Default 1.
   */
  timeScale?: number;
  /**
   * How long a new refund stays PROCESSING before it succeeds on its own; default 30 s × timeScale. Stored per
   * refund, so it is the value of the process that accepted the refund that counts.
   */
  refundProcessingMs?: number;
  merchantName?: string;
  log?: (msg: string) => void;
}

export interface RunningSimulator {
  url: string;
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const timeScale = opts.timeScale ?? 1;
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new Error(`timeScale must be a positive number, got ${timeScale}`);
  const log = opts.log ?? ((msg: string) => console.log(`[simulator] ${msg}`));

  const sql = createPool(opts.databaseUrl);
  try {
    await migrate(sql);
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw err;
  }

  const keyring = new Keyring(opts.credentials);
  const faults = createFaultStore(sql, opts.credentials.mchid);
  const held = new Set<ServerResponse>();
  const base = { sql, credentials: opts.credentials, timeScale, faults, refundProcessingMs: opts.refundProcessingMs };
  const notifier = startNotifier({
    sql,
    mchid: opts.credentials.mchid,
    keyring,
    faults,
    timeScale,
    log,
    // Refunds whose processing time is over succeed here, so their notifications go out without anyone asking.
    beforeTick: async () => {
      await settleDueRefunds(base, opts.credentials.mchid);
    },
  });
  const ctx: SimContext = {
    ...base,
    keyring,
    notifier,
    merchantName: opts.merchantName ?? 'Scanpay 演示商户',
    log,
    merchant: {
      mchid: opts.credentials.mchid,
      serial: opts.credentials.merchant.serial,
      key: loadPublicKey(opts.credentials.merchant.certificatePem),
    },
    hold(res) {
      held.add(res);
      const timer = setTimeout(() => res.destroy(), TIMEOUT_HOLD_MS);
      timer.unref();
      res.on('close', () => {
        clearTimeout(timer);
        held.delete(res);
      });
    },
  };

  const server = createServer((req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      log(`unhandled error: ${(err as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, { code: 'SYSTEM_ERROR', message: 'simulator error' });
      else res.destroy();
    });
  });
  // Real responses advertise Keep-Alive: timeout=8.
  server.keepAliveTimeout = 8_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await notifier.stop();
    await sql.end({ timeout: 1 }).catch(() => {});
    throw err;
  }

  const { port } = server.address() as AddressInfo;
  const publicHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${publicHost}:${port}`;
  log(`listening on ${url} (time scale ${timeScale})`);

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        for (const res of held) res.destroy();
        await notifier.stop();
        // Requests in progress get a moment to finish; then anything left is cut.
        const grace = setTimeout(() => server.closeAllConnections(), 2_000);
        await closed;
        clearTimeout(grace);
        await sql.end({ timeout: 5 });
      })();
      return closing;
    },
  };
}

async function route(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path.startsWith('/v3/')) return handleApi(ctx, req, res);
  if (path.startsWith('/_sim/')) return handleControl(ctx, req, res);
  if (path === '/pay') return handlePhonePage(ctx, req, res);
  sendJson(res, 404, { code: 'NOT_FOUND', message: `no such endpoint: ${path}` });
}
