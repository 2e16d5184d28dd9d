// One typed application error, converted at the edge: tRPC codes (server/trpc/init.ts) and HTTP statuses
// (route handlers). `message` is safe to show a user; `cause` (never shown) keeps the detail for logs.
export type AppErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'TOO_MANY_REQUESTS' | 'PAYMENT_PROVIDER_UNAVAILABLE';

const HTTP_STATUS: Record<AppErrorCode, number> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_MANY_REQUESTS: 429,
  PAYMENT_PROVIDER_UNAVAILABLE: 503,
};

export class AppError extends Error {
  readonly code: AppErrorCode;
  /** Safe to show, like the message: which fields were wrong (the REST API answers them as `details`). */
  readonly details?: unknown;
  constructor(code: AppErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.details = options?.details;
  }
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}
