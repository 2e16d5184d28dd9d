// One typed application error, converted to tRPC codes at the edge (server/trpc/init.ts). `message` is safe to show a user;
// `cause` (never shown) keeps the internal detail for logs.
export type AppErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_MANY_REQUESTS'
  | 'PAYMENT_PROVIDER_UNAVAILABLE';

export class AppError extends Error {
  readonly code: AppErrorCode;
  constructor(code: AppErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
  }
}
