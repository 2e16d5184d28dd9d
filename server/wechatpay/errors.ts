// Errors raised by the WeChat Pay client. Callers (jobs, tRPC procedures) decide what to do from the class
// and `retryable`, never by matching message text. Messages are safe to log: they never contain keys,
// signatures, Authorization values or response bodies — at most WeChat's own short error message.
import type { VerificationFailure } from './verifier';

/** The WeChat Pay operation an error came from, for logs and metrics. */
export type WechatPayOperation =
  | 'nativePrepay'
  | 'queryByOutTradeNo'
  | 'queryByTransactionId'
  | 'closeOrder'
  | 'createRefund'
  | 'queryRefund'
  | 'applyAbnormalRefund'
  | 'applyTradeBill'
  | 'applyFundFlowBill'
  | 'downloadBill'
  | 'downloadCertificates';

export abstract class WechatPayError extends Error {
  /** True when repeating the same (idempotent) call later may succeed. */
  abstract readonly retryable: boolean;
  readonly operation?: WechatPayOperation;

  constructor(message: string, operation?: WechatPayOperation, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.operation = operation;
  }
}

/** Codes WeChat uses for "try again later" (names disagree across its docs, reference §9). */
const RETRYABLE_CODES = new Set(['SYSTEM_ERROR', 'SYSTEMERROR', 'FREQUENCY_LIMITED', 'RATELIMIT_EXCEEDED', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE']);

function clip(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * A non-2xx answer. Error answers are not signature-checked (reference §2.6: no SDK does, and a forged
 * error can at worst make us retry or give up, never record a payment), so treat `code` as a hint.
 */
export class WechatPayApiError extends WechatPayError {
  readonly retryable: boolean;

  constructor(
    readonly httpStatus: number,
    /** WeChat's error code (`PARAM_ERROR`, `ORDER_NOT_EXIST`…), or `HTTP_<status>` when the body had none. */
    readonly code: string,
    /** WeChat's human-readable message (already short; clipped to 200 chars). */
    readonly wechatMessage: string,
    readonly requestId: string | null,
    /** WeChat's optional `detail` object ({field, value, issue, location} in older docs). */
    readonly detail?: unknown,
    operation?: WechatPayOperation,
  ) {
    super(`WeChat Pay ${httpStatus} ${code}: ${clip(wechatMessage)}${requestId ? ` (Request-ID ${requestId})` : ''}`, operation);
    this.retryable = httpStatus >= 500 || httpStatus === 429 || RETRYABLE_CODES.has(code);
  }
}

/** The call did not complete: connection refused/reset, DNS failure, or the per-attempt timeout fired. */
export class WechatPayNetworkError extends WechatPayError {
  readonly retryable = true;

  constructor(
    readonly kind: 'timeout' | 'connection',
    message: string,
    operation?: WechatPayOperation,
    cause?: unknown,
  ) {
    super(message, operation, { cause });
  }
}

/**
 * A 2xx answer whose signature is missing, stale, from an unknown key, a WECHATPAY/SIGNTEST probe, or wrong.
 * Official rule (reference §2.6): such an answer must be treated as forged, so its body is never used.
 * Only a probe is retryable: WeChat sends those deliberately and rarely, so asking again (same parameters,
 * idempotent calls only) gets a properly signed answer; any other failure will not fix itself.
 */
export class WechatPayVerificationError extends WechatPayError {
  readonly retryable: boolean;

  constructor(
    readonly reason: VerificationFailure,
    readonly httpStatus: number,
    readonly requestId: string | null,
    operation?: WechatPayOperation,
  ) {
    super(`WeChat Pay ${httpStatus} answer failed signature verification: ${reason}${requestId ? ` (Request-ID ${requestId})` : ''}`, operation);
    this.retryable = reason === 'signature_probe';
  }
}

/** A correctly signed 2xx answer whose body is not what the API documents (not JSON, or fails the schema). */
export class WechatPayResponseError extends WechatPayError {
  readonly retryable = false;

  constructor(
    readonly httpStatus: number,
    readonly requestId: string | null,
    /** Where the body failed, e.g. `code_url: Invalid input` — paths and zod messages only, no values. */
    readonly problem: string,
    operation?: WechatPayOperation,
  ) {
    super(`WeChat Pay ${httpStatus} answer is malformed: ${clip(problem)}${requestId ? ` (Request-ID ${requestId})` : ''}`, operation);
  }
}

/** Our own input failed validation before anything was sent (a caller bug: retrying cannot help). */
export class WechatPayRequestError extends WechatPayError {
  readonly retryable = false;

  constructor(
    readonly problem: string,
    operation?: WechatPayOperation,
  ) {
    super(`invalid WeChat Pay request: ${clip(problem)}`, operation);
  }
}
