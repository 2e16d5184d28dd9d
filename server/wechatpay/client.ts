// Merchant-side WeChat Pay API v3 client for Native payments (reference §1–§5, §9, §14).
// Pure protocol: configuration is passed in, nothing here reads env, touches the database or logs.
//
// The rules that make or break interoperability, and where they are enforced below:
// - sign exactly the bytes sent: the body is serialised once and that string is both signed and sent, and
//   the canonical URL is taken from the same URL object fetch puts on the request line (`send`);
// - every 2xx answer, including a 204 with an empty body, must carry a valid WeChat signature, or it is
//   treated as forged (`attempt`); error answers are read but never trusted for anything but a retry hint;
// - retries reuse identical parameters, which WeChat explicitly allows for all four operations here (§3.3, §5).
import type { KeyObject } from 'node:crypto';
import type { z } from 'zod';
import { formatAuthorization, randomNonce, requestMessage, signMessage, unixSeconds } from './crypto';
import {
  WechatPayApiError,
  WechatPayError,
  WechatPayNetworkError,
  WechatPayRequestError,
  WechatPayResponseError,
  WechatPayVerificationError,
  type WechatPayOperation,
} from './errors';
import {
  describeZodError,
  NativePrepayRequest,
  NativePrepayResponse,
  OUT_TRADE_NO_RE,
  Transaction,
  WechatPayErrorBody,
} from './schemas';
import { readSignatureHeaders, type WechatPayVerifier } from './verifier';

export interface WechatPayClientOptions {
  mchid: string;
  appid: string;
  /** Serial of the merchant API certificate (Authorization `serial_no`), never the platform serial (§14 #5). */
  merchantSerial: string;
  merchantPrivateKey: KeyObject;
  /** Trusted WeChat keys (platform certificates and/or PUB_KEY_ID_…) for checking answers. */
  verifier: WechatPayVerifier;
  /** e.g. `https://api.mch.weixin.qq.com` or the simulator's `http://127.0.0.1:3100`; no trailing slash. */
  baseUrl: string;
  /** Per attempt, covering connect, headers and body. */
  timeoutMs?: number;
  /** Extra attempts after the first, for retryable failures only. */
  retries?: number;
  /** First backoff delay; doubles per retry, plus up to 50 % random jitter. */
  retryBaseDelayMs?: number;
  userAgent?: string;
  /** Sent as `Wechatpay-Serial`: tells WeChat which of its keys to sign answers with during a migration (§1.4, §2.3). */
  acceptSerial?: string;
  fetch?: typeof fetch;
  /** Clock in epoch ms, used for request timestamps and the ±5 min check on answers. */
  now?: () => number;
}

export type NativePrepayParams = Omit<NativePrepayRequest, 'appid' | 'mchid'>;

/** WeChat order numbers are digits in practice (§4.1); this only keeps path-breaking input out. */
const TRANSACTION_ID_RE = /^[0-9A-Za-z_-]{1,32}$/;
const MAX_BACKOFF_MS = 5_000;

interface VerifiedAnswer {
  status: number;
  requestId: string | null;
  /** The body decoded as UTF-8 ('' for 204). */
  text: string;
}

export class WechatPayClient {
  private readonly mchid: string;
  private readonly appid: string;
  private readonly merchantSerial: string;
  private readonly merchantPrivateKey: KeyObject;
  private readonly verifier: WechatPayVerifier;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBaseDelayMs: number;
  private readonly userAgent: string;
  private readonly acceptSerial?: string;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(options: WechatPayClientOptions) {
    const base = new URL(options.baseUrl); // throws early on a malformed base URL
    if (base.search || base.hash) throw new TypeError('WechatPayClient: baseUrl must not have a query or fragment');
    this.mchid = options.mchid;
    this.appid = options.appid;
    this.merchantSerial = options.merchantSerial;
    this.merchantPrivateKey = options.merchantPrivateKey;
    this.verifier = options.verifier;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.retries = Math.max(0, options.retries ?? 2);
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 200;
    this.userAgent = options.userAgent ?? `Scanpay/0.1 (node/${process.versions.node})`;
    this.acceptSerial = options.acceptSerial;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
  }

  /** `POST /v3/pay/transactions/native` (§3). Re-calling with identical parameters yields a fresh code_url. */
  async nativePrepay(params: NativePrepayParams): Promise<{ code_url: string }> {
    const op = 'nativePrepay';
    const parsed = NativePrepayRequest.safeParse({ ...params, appid: this.appid, mchid: this.mchid });
    if (!parsed.success) throw new WechatPayRequestError(describeZodError(parsed.error), op);
    const p = parsed.data;
    // Explicit key order (WeChat ignores order, but a stable body makes logs and retries comparable);
    // JSON.stringify drops undefined optionals, so no key is ever sent as null (§0).
    const body = JSON.stringify({
      appid: p.appid,
      mchid: p.mchid,
      description: p.description,
      out_trade_no: p.out_trade_no,
      time_expire: p.time_expire,
      attach: p.attach,
      notify_url: p.notify_url,
      amount: { total: p.amount.total, currency: p.amount.currency },
    });
    const answer = await this.send(op, 'POST', '/v3/pay/transactions/native', body);
    const { code_url } = this.parseJson(op, answer, NativePrepayResponse);
    return { code_url };
  }

  /** `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=` (§4). Works for unpaid orders too. */
  async queryByOutTradeNo(outTradeNo: string): Promise<Transaction> {
    const op = 'queryByOutTradeNo';
    this.checkOutTradeNo(outTradeNo, op);
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${encodeURIComponent(this.mchid)}`;
    return this.parseJson(op, await this.send(op, 'GET', path), Transaction);
  }

  /** `GET /v3/pay/transactions/id/{transaction_id}?mchid=` (§4). Only paid orders have a transaction_id. */
  async queryByTransactionId(transactionId: string): Promise<Transaction> {
    const op = 'queryByTransactionId';
    if (!TRANSACTION_ID_RE.test(transactionId)) throw new WechatPayRequestError('transaction_id: invalid format', op);
    const path = `/v3/pay/transactions/id/${encodeURIComponent(transactionId)}?mchid=${encodeURIComponent(this.mchid)}`;
    return this.parseJson(op, await this.send(op, 'GET', path), Transaction);
  }

  /** `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` (§5): 204, re-entrant. */
  async closeOrder(outTradeNo: string): Promise<void> {
    const op = 'closeOrder';
    this.checkOutTradeNo(outTradeNo, op);
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`;
    await this.send(op, 'POST', path, JSON.stringify({ mchid: this.mchid }));
  }

  // ------------------------------------------------------------------ mechanics

  /** Validated before use in a path: a value like `..` would otherwise be normalised into another endpoint. */
  private checkOutTradeNo(outTradeNo: string, op: WechatPayOperation): void {
    if (!OUT_TRADE_NO_RE.test(outTradeNo)) throw new WechatPayRequestError('out_trade_no: 6–32 characters of 0-9 A-Z a-z _ - | *', op);
  }

  /** One logical call: attempts with exponential backoff + jitter while the failure is retryable. */
  private async send(op: WechatPayOperation, method: 'GET' | 'POST', pathAndQuery: string, body?: string): Promise<VerifiedAnswer> {
    const url = new URL(this.baseUrl + pathAndQuery);
    // fetch (undici) writes `pathname + search` of this very URL object as the request target, so signing
    // the same pair signs exactly what goes on the wire, whatever encoding the URL parser applied (§1.2, §14 #2).
    const target = url.pathname + url.search;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(op, method, url, target, body);
      } catch (err) {
        if (!(err instanceof WechatPayError) || !err.retryable || attempt >= this.retries) throw err;
        const delay = Math.min(MAX_BACKOFF_MS, this.retryBaseDelayMs * 2 ** attempt);
        await sleep(delay + Math.random() * delay * 0.5);
      }
    }
  }

  private async attempt(op: WechatPayOperation, method: string, url: URL, target: string, body: string | undefined): Promise<VerifiedAnswer> {
    // Fresh timestamp and nonce per attempt: a retry must not look like a replay, and must be within ±5 min.
    const timestamp = unixSeconds(this.now());
    const nonce = randomNonce(32);
    const signature = signMessage(this.merchantPrivateKey, requestMessage(method, target, timestamp, nonce, body ?? ''));
    const headers: Record<string, string> = {
      Authorization: formatAuthorization({ mchid: this.mchid, nonce_str: nonce, timestamp, serial_no: this.merchantSerial, signature }),
      Accept: 'application/json', // required, with User-Agent, or WeChat answers INVALID_REQUEST (§1.4)
      'User-Agent': this.userAgent,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.acceptSerial) headers['Wechatpay-Serial'] = this.acceptSerial;

    let response: Response;
    let bytes: Buffer;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs), // also aborts a body that trickles in too slowly
        redirect: 'manual', // WeChat never redirects; following one would hand a signed request to another URL
      });
      // Read once, as bytes: the signature covers the raw body, and Response.text() would silently drop a BOM.
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (err) {
      throw toNetworkError(err, op, this.timeoutMs);
    }

    const requestId = response.headers.get('request-id');
    if (response.status < 200 || response.status > 299) throw toApiError(response, bytes, requestId, op);

    const verdict = this.verifier.verify(readSignatureHeaders(response.headers), bytes, this.now());
    if (!verdict.ok) throw new WechatPayVerificationError(verdict.reason, response.status, requestId, op);

    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new WechatPayResponseError(response.status, requestId, 'body is not valid UTF-8', op);
    }
    return { status: response.status, requestId, text };
  }

  private parseJson<S extends z.ZodType>(op: WechatPayOperation, answer: VerifiedAnswer, schema: S): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw new WechatPayResponseError(answer.status, answer.requestId, 'body is not JSON', op);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new WechatPayResponseError(answer.status, answer.requestId, describeZodError(parsed.error), op);
    return parsed.data;
  }
}

/** Non-2xx: WeChat's `{code, message, detail?}` when present; anything else must still produce a clean error. */
function toApiError(response: Response, bytes: Buffer, requestId: string | null, op: WechatPayOperation): WechatPayApiError {
  let body: WechatPayErrorBody | undefined;
  try {
    const parsed = WechatPayErrorBody.safeParse(JSON.parse(bytes.toString('utf8')));
    if (parsed.success) body = parsed.data;
  } catch {
    // not JSON (an HTML page from a proxy, an empty 502…): fall through to the generic code
  }
  const code = body?.code ?? `HTTP_${response.status}`;
  const message = body?.message || response.statusText || 'no error body';
  return new WechatPayApiError(response.status, code, message, requestId, body?.detail, op);
}

function toNetworkError(err: unknown, op: WechatPayOperation, timeoutMs: number): WechatPayError {
  if (err instanceof WechatPayError) return err;
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new WechatPayNetworkError('timeout', `WeChat Pay ${op}: no complete answer within ${timeoutMs} ms`, op, err);
  }
  // undici reports "fetch failed" and puts the useful part (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET…) in cause.
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : 'unknown error';
  return new WechatPayNetworkError('connection', `WeChat Pay ${op}: connection failed (${detail})`, op, err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
