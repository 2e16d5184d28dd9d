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
import { createClock } from './clock';
import { createFaultStore, TIMEOUT_HOLD_MS } from './faults';
import { DEFAULT_FEE_RATE } from './orders';
import { startNotifier } from './notifier';
import { settleDueRefunds } from './refunds';
import { defaultSimLog } from './log';
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
  /** Minimum simulated time between two refunds of one order; default 60 s × timeScale (WeChat's 1 minute). */
  refundSpacingMs?: number;
  /** WeChat's fee rate as a fraction; default 0.006 (0.6 %). The app's boot passes SIM_FEE_RATE. */
  feeRate?: number;
  /** Bills for today (so far) at once instead of from 10:00 tomorrow; default off. The app's boot passes SIM_BILLS_IMMEDIATE. */
  billsImmediate?: boolean;
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
  const log = opts.log ?? defaultSimLog();

  const sql = createPool(opts.databaseUrl);
  try {
    await migrate(sql);
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw err;
  }

  const keyring = new Keyring(opts.credentials);
  const faults = createFaultStore(sql, opts.credentials.mchid);
  const clock = createClock(sql, opts.credentials.mchid);
  await clock.refresh();
  const feeRate = opts.feeRate ?? DEFAULT_FEE_RATE;
  if (!(feeRate >= 0 && feeRate < 1)) throw new Error(`feeRate must be a fraction in [0, 1), got ${feeRate}`);
  const held = new Set<ServerResponse>();
  const base = {
    sql,
    credentials: opts.credentials,
    timeScale,
    faults,
    clock,
    now: clock.now,
    refundProcessingMs: opts.refundProcessingMs,
    refundSpacingMs: opts.refundSpacingMs,
    feeRate,
    billsImmediate: opts.billsImmediate ?? false,
  };
  const notifier = startNotifier({
    sql,
    mchid: opts.credentials.mchid,
    keyring,
    faults,
    timeScale,
    log,
    now: clock.now,
    // Refunds whose processing time is over settle here, so their notifications go out without anyone asking.
    beforeTick: async () => {
      await clock.refresh();
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
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.startsWith('/v3/')) return handleApi(ctx, req, res);
  if (path.startsWith('/_sim/')) {
    // The control API hands out private keys: a page in a browser must not reach it through DNS rebinding,
    // so only requests addressed to the loopback names are answered.
    if (!isLoopbackHost(req.headers.host)) {
      return sendJson(res, 403, { code: 'FORBIDDEN_HOST', message: 'the control API answers only Host 127.0.0.1 or localhost' });
    }
    return handleControl(ctx, req, res);
  }
  if (path === '/pay') return handlePhonePage(ctx, req, res);
  sendJson(res, 404, { code: 'NOT_FOUND', message: `no such endpoint: ${path}` });
}

/** `127.0.0.1` or `localhost`, with an optional port; anything else (or no Host at all) is refused. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  return /^(127\.0\.0\.1|localhost)(:\d{1,5})?$/i.test(host);
}
