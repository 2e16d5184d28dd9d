// Every queue, its policy and its payload schema, in one place (DESIGN §3). Queues are created once at
// start-up, sequentially, each with explicit retries, expiry and a dead-letter queue.
import type { Queue } from 'pg-boss';
import { z } from 'zod';

export const QUEUE = {
  processNotification: 'payment.process-notification',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

/** Payloads carry a version so a handler can refuse a shape it does not know instead of misreading it. */
export const payloads = {
  [QUEUE.processNotification]: z.object({ version: z.literal(1), inboxId: z.number().int().positive() }),
} satisfies Record<QueueName, z.ZodType>;

export type Payload<Q extends QueueName> = z.infer<(typeof payloads)[Q]>;

export const deadLetterOf = (name: string) => `${name}.dead`;

/** Queue definitions (dead-letter queues are derived). */
export const QUEUES: Queue[] = [
  {
    name: QUEUE.processNotification,
    policy: 'standard',
    retryLimit: 10,
    retryDelay: 1,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds: 60,
    retentionSeconds: 14 * 24 * 3600,
    deleteAfterSeconds: 7 * 24 * 3600,
    deadLetter: deadLetterOf(QUEUE.processNotification),
    notify: true,
  },
];

export function allQueueDefinitions(): Queue[] {
  const dead: Queue[] = QUEUES.filter((q) => q.deadLetter).map((q) => ({
    name: q.deadLetter!,
    policy: 'standard',
    retryLimit: 0,
    // Dead letters wait for a human: keep them for a long time.
    retentionSeconds: 365 * 24 * 3600,
    deleteAfterSeconds: 30 * 24 * 3600,
  }));
  // Dead-letter queues must exist before the queues that name them.
  return [...dead, ...QUEUES];
}
