// Whether the payment queue is behind, as this worker last saw it: the payment handler fetched a full batch
// (more notifications were waiting than it takes at once) within the last second. While it is, the
// background consumers of the outbox (webhook fan-out and deliveries, statistics rollups) give way for at most
// BACKLOG_DEFER_MS: on a small host they share the CPU with the notify path and the payment worker, and the
// payment path is the one that must not wait. The bound keeps them moving under a backlog that lasts.
// Process-local: each worker judges by what it fetches.
import type { Clock } from '@/server/clock';

export interface PaymentBacklog {
  /** The payment handler fetched `size` jobs of at most `batchSize`. */
  sawBatch(size: number, batchSize: number): void;
  /** True within BEHIND_FOR_MS of the last full batch. */
  behind(): boolean;
}

/** How long one full batch counts as "behind": a backlog shows as full batches back to back. */
export const BEHIND_FOR_MS = 1000;

export function createPaymentBacklog(clock: Clock): PaymentBacklog {
  let until = 0;
  return {
    sawBatch(size, batchSize) {
      if (size >= batchSize) until = clock.now().getTime() + BEHIND_FOR_MS;
    },
    behind: () => clock.now().getTime() < until,
  };
}
