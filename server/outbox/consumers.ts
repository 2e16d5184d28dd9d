// Who reads the outbox. Each consumer is a queue of the catalogue; the relay hands every event, in
// batches, to each consumer's queue (a consumer may take only some topics). Adding a consumer is one line.
import { QUEUE, type QueueName } from '@/server/queue/catalogue';
import type { EventType } from './events';

export interface OutboxConsumer {
  queue: QueueName;
  /** The topics it takes; all when absent. */
  topics?: readonly EventType[];
}

const STATS_ROLLUP: OutboxConsumer = {
  queue: QUEUE.statsRollup,
  topics: ['payment.succeeded', 'payment.closed', 'payment.late_paid', 'payment.review', 'refund.succeeded', 'refund.closed', 'refund.abnormal'],
};

export const OUTBOX_CONSUMERS: readonly OutboxConsumer[] = [{ queue: QUEUE.webhooksFanout }, STATS_ROLLUP];

/**
 * The consumers a worker relays to, as configured. Without the statistics consumer the rollups still
 * follow, a minute behind, from the stats.refresh cron (the benchmark compares the notify path both ways).
 */
export function outboxConsumers(settings: { STATS_ROLLUP_CONSUMER: boolean }): readonly OutboxConsumer[] {
  return settings.STATS_ROLLUP_CONSUMER ? OUTBOX_CONSUMERS : OUTBOX_CONSUMERS.filter((c) => c !== STATS_ROLLUP);
}
