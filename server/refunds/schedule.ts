// When a refund may go to WeChat and when it is queried, scaled by REFUND_TIME_SCALE (tests, chaos runs).

/** WeChat wants one order's refunds at least 1 minute apart; one second of margin for clock skew. */
export const REFUND_SPACING_SECONDS = 61;

/**
 * Active queries while PROCESSING (WeChat: first about 1 minute after applying, then every 5, 10, 20, 30
 * minutes), as intervals: query n is due REFUND_QUERY_INTERVALS_SECONDS[n] after query n-1 (or acceptance).
 * After the last, every 30 minutes until WeChat gives a final status (it closes a stuck refund within 7 days).
 */
export const REFUND_QUERY_INTERVALS_SECONDS = [60, 300, 600, 1200, 1800] as const;

export function queryIntervalSeconds(step: number): number {
  return REFUND_QUERY_INTERVALS_SECONDS[Math.min(step, REFUND_QUERY_INTERVALS_SECONDS.length - 1)]!;
}

export function spacingMs(scale: number): number {
  return REFUND_SPACING_SECONDS * 1000 * scale;
}

export function nextQueryAt(from: Date, step: number, scale: number): Date {
  return new Date(from.getTime() + queryIntervalSeconds(step) * 1000 * scale);
}
