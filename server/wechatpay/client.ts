// Merchant-side WeChat Pay API v3 client for Native payments (reference §1–§10, §14).
// Pure protocol: configuration is passed in, nothing here reads env, touches the database or logs.
//
// The rules that make or break interoperability, and where they are enforced below:
// - sign exactly the bytes sent: the body is serialised once and that string is both signed and sent, and
//   the canonical URL is taken from the same URL object fetch puts on the request line (`send`);
// - every 2xx answer, including a 204 with an empty body, must carry a valid WeChat signature, or it is
//   treated as forged (`attempt`); error answers are read but never trusted for anything but a retry hint;
//   bill files are the one documented exception (§8.3): unsigned, checked by SHA-1 instead;
// - retries reuse identical parameters and only happen for idempotent operations (IDEMPOTENT below).
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { z } from 'zod';
import { aesGcmDecrypt, encryptSensitive, formatAuthorization, randomNonce, requestMessage, signMessage, unixSeconds } from './crypto';
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
  AbnormalRefundRequest,
  BillApplication,
  CertificatesResponse,
  CreateRefundRequest,
  describeZodError,
  FundFlowBillRequest,
  NativePrepayRequest,
  NativePrepayResponse,
  OUT_REFUND_NO_RE,
  OUT_TRADE_NO_RE,
  Refund,
  TradeBillRequest,
  Transaction,
  TRANSACTION_ID_RE,
  WechatPayErrorBody,
} from './schemas';
import { readSignatureHeaders, WechatPayVerifier, type SignatureHeaders, type VerificationResult } from './verifier';

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
  /** Extra attempts after the first, for retryable failures of idempotent operations only. */
  retries?: number;
  /** First backoff delay; doubles per retry, plus up to 50 % random jitter. */
  retryBaseDelayMs?: number;
  userAgent?: string;
  /**
   * Sent as `Wechatpay-Serial`: tells WeChat which of its keys to sign answers with during a migration (§1.4,
   * §2.3). A function is asked on every request, so a CertificateManager can name its newest certificate.
   */
  acceptSerial?: string | (() => string | undefined);
  /**
   * Called (and awaited) at most once per call when a 2xx answer is signed with a serial the verifier does not
   * know — in certificate mode that means WeChat rotated its certificate (§14 #8). Plug in
   * `CertificateManager.refreshForSerial`; the answer is then verified once more.
   */
  onUnknownSerial?: (serial: string) => Promise<unknown>;
  fetch?: typeof fetch;
  /** Clock in epoch ms, used for request timestamps and the ±5 min check on answers. */
  now?: () => number;
}

export type NativePrepayParams = Omit<NativePrepayRequest, 'appid' | 'mchid'>;
export type CreateRefundParams = CreateRefundRequest;
export type TradeBillParams = TradeBillRequest;
export type FundFlowBillParams = FundFlowBillRequest;

/** A platform certificate from GET /v3/certificates, decrypted and parsed. */
export interface PlatformCertificate {
  /** Upper-case hex, as in Wechatpay-Serial. */
  serialNo: string;
  certificatePem: string;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Whether repeating a call with identical parameters is safe. Every operation here is, by WeChat's own rules:
 * re-ordering an out_trade_no with the same parameters returns the same order (fresh code_url, §3.3), close is
 * re-entrant (§5), the same out_refund_no is the same refund (§7.1), the rest are reads. An operation added
 * later that is not (say, one with a server-generated id) must be listed as false and is then never retried.
 */
const IDEMPOTENT: Record<WechatPayOperation, boolean> = {
  nativePrepay: true,
  queryByOutTradeNo: true,
  queryByTransactionId: true,
  closeOrder: true,
  createRefund: true,
  queryRefund: true,
  // Once accepted the refund is no longer ABNORMAL, and WeChat may refuse the repeat: never retried blindly
  // (query the refund instead).
  applyAbnormalRefund: false,
  applyTradeBill: true,
  applyFundFlowBill: true,
  downloadBill: true,
  downloadCertificates: true,
};

/** WeChat's API hosts (§0): a bill download_url may name the other one of a pair, never anything else. */
const OFFICIAL_HOSTS = new Set(['api.mch.weixin.qq.com', 'api2.mch.weixin.qq.com', 'api.wechatpay.cn', 'api2.wechatpay.cn']);
const MAX_BACKOFF_MS = 5_000;
const GZIP_MAGIC = [0x1f, 0x8b];

/** How an answer's authenticity is established: the WeChat signature, or (bill files) not at all. */
type Check = { kind: 'signature'; verify?: (h: SignatureHeaders, body: Buffer) => VerificationResult } | { kind: 'none' };

interface RequestSpec {
  op: WechatPayOperation;
  method: 'GET' | 'POST';
  url: URL;
  body?: string;
  check?: Check;
  timeoutMs?: number;
  accept?: string;
  /** Wechatpay-Serial for this request only: the key that encrypted its sensitive fields (overrides acceptSerial). */
  serial?: string;
}

interface Answer {
  status: number;
  requestId: string | null;
  bytes: Buffer;
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
  private readonly acceptSerial?: string | (() => string | undefined);
  private readonly onUnknownSerial?: (serial: string) => Promise<unknown>;
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
    this.onUnknownSerial = options.onUnknownSerial;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
  }

  // ------------------------------------------------------------------ payments (§3–§5)

  /** `POST /v3/pay/transactions/native` (§3). Re-calling with identical parameters yields a fresh code_url. */
  async nativePrepay(params: NativePrepayParams): Promise<{ code_url: string }> {
    const op = 'nativePrepay';
    const p = this.validate(op, NativePrepayRequest, { ...params, appid: this.appid, mchid: this.mchid });
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
    const answer = await this.send({ op, method: 'POST', url: this.url('/v3/pay/transactions/native'), body });
    const { code_url } = this.parseJson(op, answer, NativePrepayResponse);
    return { code_url };
  }

  /** `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=` (§4). Works for unpaid orders too. */
  async queryByOutTradeNo(outTradeNo: string): Promise<Transaction> {
    const op = 'queryByOutTradeNo';
    this.checkOutTradeNo(outTradeNo, op);
    const url = this.url(`/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${encodeURIComponent(this.mchid)}`);
    return this.parseJson(op, await this.send({ op, method: 'GET', url }), Transaction);
  }

  /** `GET /v3/pay/transactions/id/{transaction_id}?mchid=` (§4). Only paid orders have a transaction_id. */
  async queryByTransactionId(transactionId: string): Promise<Transaction> {
    const op = 'queryByTransactionId';
    if (!TRANSACTION_ID_RE.test(transactionId)) throw new WechatPayRequestError('transaction_id: invalid format', op);
    const url = this.url(`/v3/pay/transactions/id/${encodeURIComponent(transactionId)}?mchid=${encodeURIComponent(this.mchid)}`);
    return this.parseJson(op, await this.send({ op, method: 'GET', url }), Transaction);
  }

  /** `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` (§5): 204, re-entrant. */
  async closeOrder(outTradeNo: string): Promise<void> {
    const op = 'closeOrder';
    this.checkOutTradeNo(outTradeNo, op);
    const url = this.url(`/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`);
    await this.send({ op, method: 'POST', url, body: JSON.stringify({ mchid: this.mchid }) });
  }

  // ------------------------------------------------------------------ refunds (§7)

  /**
   * `POST /v3/refund/domestic/refunds` (§7.1). Safe to retry with the same body: the same out_refund_no is the
   * same refund, so a call that timed out after WeChat accepted it returns that refund rather than a second one.
   * The answer usually says PROCESSING; the outcome comes from a REFUND.* notification or queryRefund.
   */
  async createRefund(params: CreateRefundParams): Promise<Refund> {
    const op = 'createRefund';
    const p = this.validate(op, CreateRefundRequest, params);
    const body = JSON.stringify({
      out_trade_no: p.out_trade_no,
      transaction_id: p.transaction_id,
      out_refund_no: p.out_refund_no,
      reason: p.reason,
      notify_url: p.notify_url,
      funds_account: p.funds_account,
      amount: { refund: p.amount.refund, total: p.amount.total, currency: p.amount.currency },
    });
    return this.parseJson(op, await this.send({ op, method: 'POST', url: this.url('/v3/refund/domestic/refunds'), body }), Refund);
  }

  /** `GET /v3/refund/domestic/refunds/{out_refund_no}` (§7.2). The answer's status field is `status`. */
  async queryRefund(outRefundNo: string): Promise<Refund> {
    const op = 'queryRefund';
    if (!OUT_REFUND_NO_RE.test(outRefundNo)) throw new WechatPayRequestError('out_refund_no: 1–64 characters of 0-9 A-Z a-z _ - | * @', op);
    const url = this.url(`/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`);
    return this.parseJson(op, await this.send({ op, method: 'GET', url }), Refund);
  }

  /**
   * `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund` (§7.3): pays an ABNORMAL refund (the
   * payer's card was cancelled or frozen) to the payer's debit card or the merchant's settlement account. The bank
   * account and name are encrypted here with `encryptionKey` — the WeChat Pay public key or a platform
   * certificate's key — whose id/serial `encryptionSerial` goes in `Wechatpay-Serial` so WeChat knows which of
   * its keys decrypts (§1.4). Answers the Refund (PROCESSING again). Not retried (see IDEMPOTENT).
   */
  async applyAbnormalRefund(params: AbnormalRefundRequest, encryption: { encryptionKey: KeyObject; encryptionSerial: string }): Promise<Refund> {
    const op = 'applyAbnormalRefund';
    const p = this.validate(op, AbnormalRefundRequest, params);
    const body = JSON.stringify(
      p.type === 'USER_BANK_CARD'
        ? {
            out_refund_no: p.out_refund_no,
            type: p.type,
            bank_type: p.bank_type,
            bank_account: encryptSensitive(encryption.encryptionKey, p.bank_account),
            real_name: encryptSensitive(encryption.encryptionKey, p.real_name),
          }
        : { out_refund_no: p.out_refund_no, type: p.type },
    );
    const url = this.url(`/v3/refund/domestic/refunds/${encodeURIComponent(p.refund_id)}/apply-abnormal-refund`);
    return this.parseJson(op, await this.send({ op, method: 'POST', url, body, serial: encryption.encryptionSerial }), Refund);
  }

  // ------------------------------------------------------------------ bills (§8)

  /** `GET /v3/bill/tradebill` (§8.1). STATEMENT_CREATING before 10:00 the next day; NO_STATEMENT_EXIST on quiet days. */
  async applyTradeBill(params: TradeBillParams): Promise<BillApplication> {
    const op = 'applyTradeBill';
    const p = this.validate(op, TradeBillRequest, params);
    const url = this.url(`/v3/bill/tradebill?${queryString({ bill_date: p.bill_date, bill_type: p.bill_type, tar_type: p.tar_type })}`);
    return this.parseJson(op, await this.send({ op, method: 'GET', url }), BillApplication);
  }

  /** `GET /v3/bill/fundflowbill` (§8.2). */
  async applyFundFlowBill(params: FundFlowBillParams): Promise<BillApplication> {
    const op = 'applyFundFlowBill';
    const p = this.validate(op, FundFlowBillRequest, params);
    const url = this.url(`/v3/bill/fundflowbill?${queryString({ bill_date: p.bill_date, account_type: p.account_type, tar_type: p.tar_type })}`);
    return this.parseJson(op, await this.send({ op, method: 'GET', url }), BillApplication);
  }

  /**
   * Downloads an applied bill (§8.3): a signed GET of download_url whose answer is NOT signed (verifying it
   * would always fail, §14 #19). Integrity comes from the SHA-1 of the *uncompressed* file, which must equal
   * hash_value; gzip answers are decompressed first. Returns the file bytes (UTF-8 with BOM; see parseTradeBill).
   */
  async downloadBill(bill: Pick<BillApplication, 'download_url' | 'hash_type' | 'hash_value'>, options: { timeoutMs?: number } = {}): Promise<Buffer> {
    const op = 'downloadBill';
    let url: URL;
    try {
      url = new URL(bill.download_url);
    } catch {
      throw new WechatPayRequestError('download_url: not a URL', op);
    }
    // Our signed request goes to this URL: only WeChat (or the configured base, e.g. the simulator) may get it.
    const base = new URL(this.baseUrl);
    if (url.origin !== base.origin && !(url.protocol === 'https:' && OFFICIAL_HOSTS.has(url.hostname))) {
      throw new WechatPayRequestError('download_url: not a WeChat Pay API host', op);
    }
    if (bill.hash_type.toUpperCase() !== 'SHA1') throw new WechatPayRequestError(`hash_type: unsupported (${bill.hash_type.slice(0, 10)})`, op);
    const answer = await this.send({ op, method: 'GET', url, check: { kind: 'none' }, timeoutMs: options.timeoutMs, accept: '*/*' });
    let file = answer.bytes;
    if (file.length >= 2 && file[0] === GZIP_MAGIC[0] && file[1] === GZIP_MAGIC[1]) {
      try {
        file = gunzipSync(file);
      } catch {
        throw new WechatPayResponseError(answer.status, answer.requestId, 'bill file: corrupt gzip stream', op);
      }
    }
    const actual = createHash('sha1').update(file).digest('hex');
    if (actual !== bill.hash_value.toLowerCase()) {
      throw new WechatPayResponseError(answer.status, answer.requestId, 'bill file: SHA-1 does not match hash_value', op);
    }
    return file;
  }

  // ------------------------------------------------------------------ certificates (§10)

  /**
   * `GET /v3/certificates` (§10), decrypted with the APIv3 key. The answer is signed by a platform key the
   * caller may not hold yet (first download, rotation): it is verified with the verifier's keys plus the
   * certificates it carries, whose authenticity rests on the AES-GCM decryption with the APIv3 key — stricter
   * than the official SDKs, which skip verification on the first download. A merchant on the public key only
   * gets WechatPayApiError NOT_FOUND (CertificateManager treats that as "no certificates").
   */
  async downloadCertificates(apiv3Key: string): Promise<PlatformCertificate[]> {
    const op = 'downloadCertificates';
    let certificates: PlatformCertificate[] = [];
    const verify = (h: SignatureHeaders, body: Buffer): VerificationResult => {
      certificates = decryptCertificates(body, apiv3Key);
      const known = this.verifier.verify(h, body, this.now());
      if (known.ok || known.reason !== 'unknown_serial') return known;
      return new WechatPayVerifier(certificates.map((c) => [c.serialNo, c.publicKey])).verify(h, body, this.now());
    };
    try {
      await this.send({ op, method: 'GET', url: this.url('/v3/certificates'), check: { kind: 'signature', verify } });
    } catch (err) {
      if (err instanceof CertificateDecryptError) throw new WechatPayResponseError(200, null, err.message, op);
      throw err;
    }
    return certificates;
  }

  // ------------------------------------------------------------------ mechanics

  private url(pathAndQuery: string): URL {
    return new URL(this.baseUrl + pathAndQuery);
  }

  private validate<S extends z.ZodType>(op: WechatPayOperation, schema: S, input: unknown): z.output<S> {
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw new WechatPayRequestError(describeZodError(parsed.error), op);
    return parsed.data;
  }

  /** Validated before use in a path: a value like `..` would otherwise be normalised into another endpoint. */
  private checkOutTradeNo(outTradeNo: string, op: WechatPayOperation): void {
    if (!OUT_TRADE_NO_RE.test(outTradeNo)) throw new WechatPayRequestError('out_trade_no: 6–32 characters of 0-9 A-Z a-z _ - | *', op);
  }

  /** One logical call: attempts with exponential backoff + jitter while the failure is retryable and the call idempotent. */
  private async send(spec: RequestSpec): Promise<Answer> {
    const retries = IDEMPOTENT[spec.op] ? this.retries : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(spec);
      } catch (err) {
        if (!(err instanceof WechatPayError) || !err.retryable || attempt >= retries) throw err;
        const delay = Math.min(MAX_BACKOFF_MS, this.retryBaseDelayMs * 2 ** attempt);
        await sleep(delay + Math.random() * delay * 0.5);
      }
    }
  }

  private async attempt(spec: RequestSpec): Promise<Answer> {
    const { op, method, url, body } = spec;
    // fetch (undici) writes `pathname + search` of this very URL object as the request target, so signing
    // the same pair signs exactly what goes on the wire, whatever encoding the URL parser applied (§1.2, §14 #2).
    const target = url.pathname + url.search;
    // Fresh timestamp and nonce per attempt: a retry must not look like a replay, and must be within ±5 min.
    const timestamp = unixSeconds(this.now());
    const nonce = randomNonce(32);
    const signature = signMessage(this.merchantPrivateKey, requestMessage(method, target, timestamp, nonce, body ?? ''));
    const headers: Record<string, string> = {
      Authorization: formatAuthorization({ mchid: this.mchid, nonce_str: nonce, timestamp, serial_no: this.merchantSerial, signature }),
      Accept: spec.accept ?? 'application/json', // required, with User-Agent, or WeChat answers INVALID_REQUEST (§1.4)
      'User-Agent': this.userAgent,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const acceptSerial = spec.serial ?? (typeof this.acceptSerial === 'function' ? this.acceptSerial() : this.acceptSerial);
    if (acceptSerial) headers['Wechatpay-Serial'] = acceptSerial;

    const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
    let response: Response;
    let bytes: Buffer;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs), // also aborts a body that trickles in too slowly
        redirect: 'manual', // WeChat never redirects; following one would hand a signed request to another URL
      });
      // Read once, as bytes: the signature covers the raw body, and Response.text() would silently drop a BOM.
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (err) {
      throw toNetworkError(err, op, timeoutMs);
    }

    const requestId = response.headers.get('request-id');
    if (response.status < 200 || response.status > 299) throw toApiError(response, bytes, requestId, op);

    const check = spec.check ?? { kind: 'signature' };
    if (check.kind === 'signature') {
      const signatureHeaders = readSignatureHeaders(response.headers);
      const verify = check.verify ?? ((h: SignatureHeaders, b: Buffer) => this.verifier.verify(h, b, this.now()));
      let verdict = verify(signatureHeaders, bytes);
      // A serial we do not know may be WeChat's new certificate: one refresh, one more look (§14 #8).
      // Never from the certificate download itself: the refresh would wait on its own request.
      if (!verdict.ok && verdict.reason === 'unknown_serial' && verdict.serial && this.onUnknownSerial && op !== 'downloadCertificates') {
        try {
          await this.onUnknownSerial(verdict.serial);
        } catch {
          // A failed refresh leaves the serial unknown: reported below as what it is.
        }
        verdict = verify(signatureHeaders, bytes);
      }
      if (!verdict.ok) throw new WechatPayVerificationError(verdict.reason, response.status, requestId, op);
    }
    return { status: response.status, requestId, bytes };
  }

  private parseJson<S extends z.ZodType>(op: WechatPayOperation, answer: Answer, schema: S): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(answer.bytes));
    } catch {
      throw new WechatPayResponseError(answer.status, answer.requestId, 'body is not UTF-8 JSON', op);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new WechatPayResponseError(answer.status, answer.requestId, describeZodError(parsed.error), op);
    return parsed.data;
  }
}

/** Internal: a certificates answer whose content could not be decrypted or parsed (never retried). */
class CertificateDecryptError extends Error {}

/** Decrypts and parses every certificate of a GET /v3/certificates body; throws CertificateDecryptError. */
function decryptCertificates(body: Buffer, apiv3Key: string): PlatformCertificate[] {
  let parsed: CertificatesResponse;
  try {
    const result = CertificatesResponse.safeParse(JSON.parse(body.toString('utf8')));
    if (!result.success) throw new CertificateDecryptError(`certificates: ${describeZodError(result.error)}`);
    parsed = result.data;
  } catch (err) {
    if (err instanceof CertificateDecryptError) throw err;
    throw new CertificateDecryptError('certificates: body is not JSON');
  }
  return parsed.data.map((entry) => {
    const enc = entry.encrypt_certificate;
    if (enc.algorithm !== 'AEAD_AES_256_GCM') throw new CertificateDecryptError(`certificates: unsupported algorithm ${enc.algorithm.slice(0, 40)}`);
    let pem: string;
    let cert: X509Certificate;
    try {
      pem = aesGcmDecrypt(apiv3Key, enc.nonce, enc.associated_data ?? '', enc.ciphertext);
      cert = new X509Certificate(pem);
    } catch {
      throw new CertificateDecryptError('certificates: a certificate could not be decrypted with the APIv3 key');
    }
    const serialNo = cert.serialNumber.toUpperCase();
    // The serial outside the ciphertext is unauthenticated; it must agree with the certificate inside.
    if (serialNo !== entry.serial_no.toUpperCase()) throw new CertificateDecryptError('certificates: serial_no does not match the certificate');
    return { serialNo, certificatePem: pem, publicKey: cert.publicKey, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
  });
}

/** `a=1&b=2` with undefined values left out (never sent as empty or "undefined"), values form-encoded. */
function queryString(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, v);
  return q.toString();
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
