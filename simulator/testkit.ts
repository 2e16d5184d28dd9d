// Helpers to drive the simulator from tests and scripts (chaos runs, conformance suites, benchmarks): a
// typed client for the /_sim control API, a notify_url receiver that records every delivery, and signed
// payment notifications as WeChat sends them. Not used by the simulator itself; it lives here so every
// suite drives the simulator the same way.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { loadPrivateKey, loadPublicKey, randomHexNonce, responseMessage, signMessage, unixSeconds } from '../server/wechatpay/crypto';
import { formatRfc3339Shanghai } from '../server/wechatpay/time';
import { WechatPayVerifier, type VerificationResult } from '../server/wechatpay/verifier';
import type { SimCredentials } from './credentials';
import { FAULT_CACHE_TTL_MS, type Faults, type FaultsInput } from './faults';
import { buildTransactionNotification } from './notifier';

export interface SimAttempt {
  notification_id: string;
  event_type: string;
  out_trade_no: string;
  out_refund_no: string | null;
  number: number;
  at: string;
  http_status: number | null;
  latency_ms: number | null;
  error: string | null;
  dropped: boolean;
  probe: boolean;
  duplicate: boolean;
  delayed_ms: number;
  serial: string | null;
}

export interface SimNotification {
  id: string;
  event_type: string;
  out_trade_no: string;
  out_refund_no: string | null;
  notify_url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  delivered_at: string | null;
}

export type PayRequest =
  | { code_url: string; outcome?: 'SUCCESS' | 'INSUFFICIENT_BALANCE'; allowClosed?: boolean; coupon_fen?: number }
  | { out_trade_no: string; outcome?: 'SUCCESS' | 'INSUFFICIENT_BALANCE'; allowClosed?: boolean; coupon_fen?: number };

/** A refund as GET /_sim/refunds lists it: the API's Refund object plus the simulator's bookkeeping. */
export interface SimRefund {
  out_refund_no: string;
  out_trade_no: string;
  refund_id: string;
  transaction_id: string;
  status: 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';
  amount: { refund: number; total: number };
  channel: string;
  user_received_account: string;
  create_time: string;
  success_time?: string;
  reason: string | null;
  notify_url: string;
  settle_at: string;
  planned_status: string;
  fee_refund_fen: number;
  /** Accepted create calls for this out_refund_no: 1 + idempotent repeats. */
  create_requests: number;
  abnormal_apply: Record<string, unknown> | null;
  external: boolean;
}

export interface SimClockState {
  now: string;
  beijing: string;
  offset_ms: number;
}

export interface SimDayTruth {
  date: string;
  fee_rate: string;
  trade: {
    paid_count: number;
    gross_fen: number;
    coupon_fen: number;
    settlement_gross_fen: number;
    refund_count: number;
    refunds_fen: number;
    fees_fen: number;
    fee_refunds_fen: number;
    net_fen: number;
    out_trade_nos: string[];
    out_refund_nos: string[];
  };
  fund_basic: { count: number; opening_fen: number; income_fen: number; expense_fen: number; closing_fen: number };
}

export type SimAnomaly =
  | { kind: 'unknown_trade'; amount_fen: number; out_trade_no?: string; at?: string; description?: string }
  | { kind: 'unheard_payment'; out_trade_no: string; at?: string; hidden_until?: string }
  | { kind: 'external_refund'; out_trade_no: string; amount_fen: number; out_refund_no?: string; at?: string }
  | { kind: 'amount_difference'; out_trade_no: string; bill_amount_fen: number }
  | { kind: 'missing_row'; out_trade_no: string }
  | { kind: 'fee_difference'; out_trade_no: string; fee_fen: number };

export class SimControlError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`simulator control API answered ${status}: ${JSON.stringify(body)}`);
    this.name = 'SimControlError';
  }
}

/** The /_sim control API, typed. Every method throws SimControlError on a non-2xx answer. */
export class SimControl {
  constructor(readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as unknown;
    if (!res.ok) throw new SimControlError(res.status, json);
    return json as T;
  }

  credentials(): Promise<SimCredentials> {
    return this.call('GET', '/_sim/credentials');
  }
  /**
   * Replaces the whole fault set (`{}` clears it); returns the effective set. The simulator that serves the PUT
   * applies it at once; other processes sharing the database within FAULT_CACHE_TTL_MS — pass
   * `{ everywhere: true }` to wait for that when several simulator processes run.
   */
  async setFaults(faults: FaultsInput, options: { everywhere?: boolean } = {}): Promise<Faults> {
    const effective = await this.call<Faults>('PUT', '/_sim/faults', faults);
    if (options.everywhere) await new Promise((r) => setTimeout(r, FAULT_CACHE_TTL_MS + 50));
    return effective;
  }
  faults(): Promise<Faults> {
    return this.call('GET', '/_sim/faults');
  }
  pay(request: PayRequest): Promise<{ out_trade_no: string; transaction_id: string | null; trade_state: string; outcome: string }> {
    return this.call('POST', '/_sim/pay', request);
  }
  /** Every notification and every delivery attempt, for one order or (without argument) the whole merchant. */
  notifications(outTradeNo?: string): Promise<{ notifications: SimNotification[]; attempts: SimAttempt[] }> {
    return this.call('GET', `/_sim/notifications${outTradeNo ? `?out_trade_no=${encodeURIComponent(outTradeNo)}` : ''}`);
  }
  order(outTradeNo: string): Promise<Record<string, unknown>> {
    return this.call('GET', `/_sim/orders/${encodeURIComponent(outTradeNo)}`);
  }
  backdate(outTradeNo: string, days: number): Promise<unknown> {
    return this.call('POST', `/_sim/orders/${encodeURIComponent(outTradeNo)}/backdate`, { days });
  }
  refund(outRefundNo: string): Promise<Record<string, unknown>> {
    return this.call('GET', `/_sim/refunds/${encodeURIComponent(outRefundNo)}`);
  }
  refundOutcome(outRefundNo: string, status: 'SUCCESS' | 'ABNORMAL' | 'CLOSED'): Promise<Record<string, unknown>> {
    return this.call('POST', `/_sim/refunds/${encodeURIComponent(outRefundNo)}/outcome`, { status });
  }
  /** Every refund the simulator holds (for one order, or the whole merchant): one row per out_refund_no. */
  async refunds(outTradeNo?: string): Promise<SimRefund[]> {
    const q = outTradeNo ? `?out_trade_no=${encodeURIComponent(outTradeNo)}` : '';
    return (await this.call<{ refunds: SimRefund[] }>('GET', `/_sim/refunds${q}`)).refunds;
  }
  /** How the refund named `target` (an out_refund_no, or 'default' for every refund without its own plan) will end. */
  setRefundPlan(target: string, plan: { status: 'SUCCESS' | 'PROCESSING' | 'CLOSED' | 'ABNORMAL'; afterMs?: number }): Promise<unknown> {
    return this.call('PUT', `/_sim/refund-plans/${encodeURIComponent(target)}`, plan);
  }
  refundPlans(): Promise<{ plans: { target: string; status: string; afterMs: number | null }[] }> {
    return this.call('GET', '/_sim/refund-plans');
  }
  clearRefundPlans(target?: string): Promise<unknown> {
    return this.call('DELETE', target ? `/_sim/refund-plans/${encodeURIComponent(target)}` : '/_sim/refund-plans');
  }
  clock(): Promise<SimClockState> {
    return this.call('GET', '/_sim/clock');
  }
  /** Moves simulated time forward (refund spacing, the refund year, bill availability, expiry, retries). */
  advanceClock(ms: number): Promise<SimClockState> {
    return this.call('POST', '/_sim/clock', { advanceMs: ms });
  }
  /** Back to wall time: for the end of a test file that moved the clock. */
  resetClock(): Promise<SimClockState> {
    return this.call('POST', '/_sim/clock', { offsetMs: 0, allowBackwards: true });
  }
  /** What a Beijing day's bills say before any injected discrepancy (the settlement report's truth). */
  billTruth(date: string): Promise<SimDayTruth> {
    return this.call('GET', `/_sim/bills/${date}/truth`);
  }
  /** Injects one reconciliation discrepancy class (see docs/wechatpay.md, "Bill discrepancies"). */
  injectAnomaly(anomaly: SimAnomaly): Promise<Record<string, unknown> & { bill_date: string }> {
    return this.call('POST', '/_sim/bills/anomalies', anomaly);
  }
}

/** Trusts both of the simulator's keys, as a merchant in the middle of the migration does. */
export function simulatorVerifier(credentials: SimCredentials): WechatPayVerifier {
  return new WechatPayVerifier([
    [credentials.wechatpayPublicKey.id, loadPublicKey(credentials.wechatpayPublicKey.publicKeyPem)],
    [credentials.platformCertificate.serial, loadPublicKey(credentials.platformCertificate.certificatePem)],
  ]);
}

export interface ReceivedNotification {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
  at: number;
}

export interface NotifyReceiver {
  url: string;
  received: ReceivedNotification[];
  /** The verdict of the simulator verifier over a received notification. */
  verify(n: Pick<ReceivedNotification, 'headers' | 'body'>, credentials: SimCredentials): VerificationResult;
  close(): Promise<void>;
}

/**
 * A notify_url stand-in. By default it answers 204; `respond` decides per delivery (e.g. 401 for a probe, as a
 * correct merchant does). Paths are free-form, so one receiver can serve many orders (`${url}/anything`).
 */
export async function startNotifyReceiver(respond: (n: Omit<ReceivedNotification, 'status'>) => number = () => 204): Promise<NotifyReceiver> {
  const received: ReceivedNotification[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const n = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
    const status = respond(n);
    received.push({ ...n, status });
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(status >= 300 ? '{"code":"FAIL","message":"失败"}' : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    verify(n, credentials) {
      const h = n.headers;
      const one = (name: string) => (typeof h[name] === 'string' ? (h[name] as string) : null);
      return simulatorVerifier(credentials).verify(
        {
          timestamp: one('wechatpay-timestamp'),
          nonce: one('wechatpay-nonce'),
          signature: one('wechatpay-signature'),
          serial: one('wechatpay-serial'),
          signatureType: one('wechatpay-signature-type'),
        },
        n.body,
      );
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `fn` until it returns something truthy, or throws after `timeoutMs`. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, label = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`${label} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The decrypted resource of a successful Native payment, as WeChat reports it (reference §6.2). */
export function successfulTransaction(
  c: Pick<SimCredentials, 'mchid' | 'appid'>,
  t: { out_trade_no: string; amount: number; transaction_id: string; mchid?: string; appid?: string; openid?: string },
  now = Date.now(),
) {
  return {
    mchid: t.mchid ?? c.mchid,
    appid: t.appid ?? c.appid,
    out_trade_no: t.out_trade_no,
    transaction_id: t.transaction_id,
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    attach: '',
    success_time: formatRfc3339Shanghai(new Date(now)),
    payer: { openid: t.openid ?? 'oTestShopper' },
    amount: { total: t.amount, payer_total: t.amount, currency: 'CNY', payer_currency: 'CNY' },
  };
}

/**
 * A payment notification exactly as WeChat sends it for `transaction`: the simulator's own envelope
 * (AES-256-GCM), signed over `timestamp\nnonce\nbody\n` with the simulator's WeChat Pay key. Pass the key
 * already parsed when signing many.
 */
export function signedTransactionNotification(
  c: SimCredentials,
  transaction: Record<string, unknown>,
  now = Date.now(),
  key: KeyObject = loadPrivateKey(c.wechatpayPublicKey.privateKeyPem),
): { body: string; headers: Record<string, string> } {
  const { body } = buildTransactionNotification(transaction, c.apiv3Key, new Date(now));
  const timestamp = unixSeconds(now);
  const nonce = randomHexNonce();
  return {
    body,
    headers: {
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': signMessage(key, responseMessage(timestamp, nonce, body)),
      'wechatpay-serial': c.wechatpayPublicKey.id,
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    },
  };
}
