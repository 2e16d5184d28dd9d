// WeChat's refund rules (reference §7) and our own, as pure functions of what the database holds: the
// domain checks them under the order lock, the console shows the same figures before anyone clicks.
import type { refunds } from '@/db/schema';
import { RefundError } from './errors';

export type RefundRow = typeof refunds.$inferSelect;
export type RefundStatus = RefundRow['status'];

/** WeChat: a payment can be refunded within 1 year (365 days) of its success. */
export const REFUND_WINDOW_DAYS = 365;
/** WeChat: at most 50 refunds per WeChat order (every accepted one counts, CLOSED included). */
export const MAX_REFUNDS_PER_PAYMENT = 50;
/** WeChat: `reason` at most 80 characters. */
export const MAX_REASON_CHARS = 80;
/** WeChat shows no reason to the payer for a partial refund of ¥1 or less. */
export const REASON_HIDDEN_AT_OR_BELOW_FEN = 100;

/** Statuses that will not (or did not) reach WeChat: they count towards nothing. */
export const NOT_SENT: readonly RefundStatus[] = ['rejected', 'failed'];
/** Statuses whose money is committed: paid back, or on its way (CLOSED gave the money back to the balance). */
export const COMMITTED: readonly RefundStatus[] = ['pending_approval', 'requested', 'processing', 'succeeded', 'abnormal'];
export const IN_FLIGHT: readonly RefundStatus[] = ['pending_approval', 'requested', 'processing', 'abnormal'];

export interface PaymentFigures {
  paidFen: number;
  refundedFen: number;
  inFlightFen: number;
  refundableFen: number;
  /** Refunds WeChat will still accept for this payment. */
  refundsLeft: number;
  /** Whole days left of the year from payment (0 on the last day, negative once past). */
  daysLeft: number;
  windowEndsAt: Date;
}

/** The figures of one payment from its refunds (rows of one attempt). */
export function paymentFigures(paidFen: number, paidAt: Date, rows: Pick<RefundRow, 'status' | 'amountFen'>[], now: Date): PaymentFigures {
  const refundedFen = rows.filter((r) => r.status === 'succeeded').reduce((s, r) => s + r.amountFen, 0);
  const inFlightFen = rows.filter((r) => IN_FLIGHT.includes(r.status)).reduce((s, r) => s + r.amountFen, 0);
  const windowEndsAt = new Date(paidAt.getTime() + REFUND_WINDOW_DAYS * 86_400_000);
  return {
    paidFen,
    refundedFen,
    inFlightFen,
    refundableFen: Math.max(0, paidFen - refundedFen - inFlightFen),
    refundsLeft: Math.max(0, MAX_REFUNDS_PER_PAYMENT - rows.filter((r) => !NOT_SENT.includes(r.status)).length),
    daysLeft: Math.floor((windowEndsAt.getTime() - now.getTime()) / 86_400_000),
    windowEndsAt,
  };
}

/** Throws the first WeChat rule a new refund of `amountFen` would break. */
export function checkWechatRules(f: PaymentFigures, amountFen: number, now: Date): void {
  if (!Number.isSafeInteger(amountFen) || amountFen < 1) throw new RefundError('INVALID_AMOUNT', 'The amount must be at least 0.01 yuan, in whole fen.');
  if (now.getTime() > f.windowEndsAt.getTime())
    throw new RefundError('REFUND_WINDOW_PASSED', 'This payment is more than a year old: WeChat Pay no longer refunds it.');
  if (f.refundsLeft <= 0) throw new RefundError('TOO_MANY_REFUNDS', `This payment already has ${MAX_REFUNDS_PER_PAYMENT} refunds, the most WeChat Pay allows.`);
  if (amountFen > f.refundableFen) {
    throw new RefundError(
      'EXCEEDS_REFUNDABLE',
      `At most ${(f.refundableFen / 100).toFixed(2)} yuan can still be refunded (paid ${(f.paidFen / 100).toFixed(2)}, refunded ${(f.refundedFen / 100).toFixed(2)}, in flight ${(f.inFlightFen / 100).toFixed(2)}).`,
    );
  }
}

/**
 * The reason as WeChat takes it: trimmed, at most 80 characters, no characters outside the Basic Multilingual
 * Plane (WeChat refuses emoji with PARAM_ERROR) and no control characters.
 */
export function normaliseReason(reason: string): string {
  const r = reason.trim();
  if (!r) throw new RefundError('INVALID_REASON', 'Give a reason for the refund.');
  if ([...r].length > MAX_REASON_CHARS) throw new RefundError('INVALID_REASON', `The reason is at most ${MAX_REASON_CHARS} characters (WeChat Pay's limit).`);
  if (/[\u0000-\u001f\u007f]/.test(r) || /[\u{10000}-\u{10FFFF}]/u.test(r)) {
    throw new RefundError('INVALID_REASON', 'The reason may not contain emoji or control characters (WeChat Pay refuses them).');
  }
  return r;
}

/** Start of the Beijing (UTC+8) day that contains `now`: daily limits are per Beijing day. */
export function beijingDayStart(now: Date): Date {
  const offset = 8 * 3600_000;
  return new Date(Math.floor((now.getTime() + offset) / 86_400_000) * 86_400_000 - offset);
}
