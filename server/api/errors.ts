// The REST API's one error shape, `{ error: { code, message, details? } }`, and the statuses its codes mean.
import { AppError } from '@/server/errors';
import { WechatPayError } from '@/server/wechatpay/errors';

export const API_ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  insufficient_scope: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_in_progress: 409,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal_error: 500,
  provider_unavailable: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
  body() {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

const FROM_APP: Record<AppError['code'], ApiErrorCode> = {
  BAD_REQUEST: 'invalid_request',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  TOO_MANY_REQUESTS: 'rate_limited',
  PAYMENT_PROVIDER_UNAVAILABLE: 'provider_unavailable',
};

/** A domain error in the API's words; anything else is a 500 whose detail stays in the log. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof AppError) return new ApiError(FROM_APP[err.code], err.message, err.details);
  // WeChat failing under a call we make for the request (query, close): retryable, not our bug.
  if (err instanceof WechatPayError)
    return new ApiError('provider_unavailable', 'WeChat Pay is not answering right now. Retry in a moment (with the same Idempotency-Key).');
  return new ApiError('internal_error', 'Something went wrong on our side. Retry with the same Idempotency-Key.');
}
