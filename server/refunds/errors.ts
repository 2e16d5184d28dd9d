// One error class for every refused refund action, with a stable machine `rule` (the REST API maps it to
// its error codes, the console to a translated message) and a message safe to show a merchant.
import { AppError, type AppErrorCode } from '@/server/errors';

export type RefundRule =
  | 'ORDER_NOT_FOUND'
  | 'ORDER_NOT_REFUNDABLE'
  | 'REFUND_WINDOW_PASSED'
  | 'TOO_MANY_REFUNDS'
  | 'EXCEEDS_REFUNDABLE'
  | 'INVALID_AMOUNT'
  | 'INVALID_REASON'
  | 'ROLE_MAY_NOT_REFUND'
  | 'SINGLE_LIMIT_EXCEEDED'
  | 'DAILY_LIMIT_EXCEEDED'
  | 'STEP_UP_REQUIRED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'REFUND_NOT_FOUND'
  | 'NOT_PENDING_APPROVAL'
  | 'OWN_REFUND'
  | 'MAY_NOT_APPROVE'
  | 'NOT_CLOSED'
  | 'ALREADY_REAPPLIED'
  | 'NOT_ABNORMAL'
  | 'INVALID_BANK_DETAILS'
  | 'WECHAT_REFUSED';

const CODE: Partial<Record<RefundRule, AppErrorCode>> = {
  ORDER_NOT_FOUND: 'NOT_FOUND',
  REFUND_NOT_FOUND: 'NOT_FOUND',
  IDEMPOTENCY_KEY_REUSED: 'CONFLICT',
  NOT_PENDING_APPROVAL: 'CONFLICT',
  NOT_CLOSED: 'CONFLICT',
  ALREADY_REAPPLIED: 'CONFLICT',
  NOT_ABNORMAL: 'CONFLICT',
};

export class RefundError extends AppError {
  constructor(
    readonly rule: RefundRule,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(CODE[rule] ?? 'BAD_REQUEST', message, options);
    this.name = 'RefundError';
  }
}
