// Who reads the outbox. Each consumer is a queue of the catalogue; the relay hands every event, in
// batches, to each consumer's queue (a consumer may take only some topics). Adding a consumer is one line.
import { QUEUE, type QueueName } from '@/server/queue/catalogue';
import type { EventType } from './events';

export interface OutboxConsumer {
  queue: QueueName;
  /** The topics it takes; all when absent. */
  topics?: readonly EventType[];
}

export const OUTBOX_CONSUMERS: readonly OutboxConsumer[] = [
  { queue: QUEUE.webhooksFanout },
  {
    queue: QUEUE.statsRollup,
    topics: ['payment.succeeded', 'payment.closed', 'payment.late_paid', 'payment.review', 'refund.succeeded', 'refund.closed', 'refund.abnormal'],
  },
];
