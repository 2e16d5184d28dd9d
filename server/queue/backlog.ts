// Whether the payment queue is behind, as this worker last saw it: the payment handler fetched a large batch
// (more notifications were waiting than a quiet moment leaves) within the last second. While it is, the
// background consumers of the outbox (webhook fan-out and deliveries, statistics rollups) give way for at most
// BACKLOG_DEFER_MS: on a small host they share the CPU with the notify path and the payment worker, and the
// payment path is the one that must not wait. The bound keeps them moving under a backlog that lasts.
// Process-local: each worker judges by what it fetches.
import type { Clock } from '@/server/clock';

export interface PaymentBacklog {
  /** The payment handler fetched `size` jobs at once. */
  sawBatch(size: number): void;
  /** True within BEHIND_FOR_MS of the last large batch. */
  behind(): boolean;
}

/** A fetch of this many means a backlog: more arrived than a quiet 10 ms window and one batch leave. */
export const BEHIND_AT = 25;

/** How long one large batch counts as "behind": a backlog shows as large batches back to back. */
export const BEHIND_FOR_MS = 1000;

export function createPaymentBacklog(clock: Clock): PaymentBacklog {
  let until = 0;
  return {
    sawBatch(size) {
      if (size >= BEHIND_AT) until = clock.now().getTime() + BEHIND_FOR_MS;
    },
    behind: () => clock.now().getTime() < until,
  };
}
