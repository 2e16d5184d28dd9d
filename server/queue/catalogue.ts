// Every queue, its policy and its payload schema, in one place (DESIGN §3). Queues are created once at
// start-up, sequentially, each with explicit retries, expiry and a dead-letter queue.
import type { Queue } from 'pg-boss';
import { z } from 'zod';

export const QUEUE = {
  processNotification: 'payment.process-notification',
  queryAttempt: 'payment.query-attempt',
  expireAttempt: 'payment.expire-attempt',
  closeOrder: 'payment.close-order',
  executeRefund: 'payment.execute-refund',
  sweep: 'maintenance.sweep',
  consoleExport: 'console.export',
  statsRollup: 'stats.rollup',
  statsRefresh: 'stats.refresh',
  statsNightly: 'stats.nightly',
  monitoringEvaluate: 'monitoring.evaluate',
  webhooksFanout: 'webhooks.fanout',
  webhooksRecover: 'webhooks.recover',
  reconciliationDaily: 'reconciliation.daily',
  reconciliationRun: 'reconciliation.run',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

const uuid = z.uuid();

/** Payloads carry a version so a handler refuses a shape it does not know instead of misreading it. */
export const payloads = {
  [QUEUE.processNotification]: z.object({ version: z.literal(1), inboxId: z.number().int().positive() }),
  [QUEUE.queryAttempt]: z.object({ version: z.literal(1), attemptId: uuid, step: z.number().int().min(0) }),
  // force: close now (the order was decided by another attempt), even before the attempt's expiry.
  [QUEUE.expireAttempt]: z.object({ version: z.literal(1), attemptId: uuid, force: z.boolean().optional() }),
  [QUEUE.closeOrder]: z.object({ version: z.literal(1), orderId: uuid }),
  [QUEUE.executeRefund]: z.object({ version: z.literal(1), refundId: uuid }),
  [QUEUE.sweep]: z.object({ version: z.literal(1) }).or(z.object({}).strict()),
  [QUEUE.consoleExport]: z.object({ version: z.literal(1), exportId: uuid }),
  // The outbox relay's batch (server/outbox/relay.ts).
  [QUEUE.statsRollup]: z.object({ version: z.literal(1), eventIds: z.array(z.number().int().positive()) }),
  [QUEUE.statsRefresh]: z.object({ version: z.literal(1) }),
  [QUEUE.statsNightly]: z.object({ version: z.literal(1) }),
  [QUEUE.monitoringEvaluate]: z.object({ version: z.literal(1) }),
  [QUEUE.webhooksFanout]: z.object({ version: z.literal(1), eventIds: z.array(z.number().int().positive()).min(1) }),
  [QUEUE.webhooksRecover]: z.object({ version: z.literal(1), recoveryId: uuid }),
  [QUEUE.reconciliationDaily]: z.object({ version: z.literal(1) }),
  [QUEUE.reconciliationRun]: z.object({ version: z.literal(1), runId: uuid }),
} satisfies Record<QueueName, z.ZodType>;

export type Payload<Q extends QueueName> = z.infer<(typeof payloads)[Q]>;

export const deadLetterOf = (name: string) => `${name}.dead`;

const DAY = 24 * 3600;

/**
 * Queue definitions (dead-letter queues are derived). Retries back off exponentially up to a cap; WeChat
 * calls time out in seconds, so a job's expiry is generous but bounded.
 */
export const QUEUES: Queue[] = [
  {
    name: QUEUE.processNotification,
    policy: 'standard',
    retryLimit: 10,
    retryDelay: 1,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds: 30,
    retentionSeconds: 14 * DAY,
    deleteAfterSeconds: 7 * DAY,
    deadLetter: deadLetterOf(QUEUE.processNotification),
    notify: true,
  },
  {
    name: QUEUE.queryAttempt,
    policy: 'standard',
    retryLimit: 8,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 120,
    expireInSeconds: 30,
    retentionSeconds: 7 * DAY,
    deleteAfterSeconds: 2 * DAY,
    deadLetter: deadLetterOf(QUEUE.queryAttempt),
    notify: true,
  },
  {
    name: QUEUE.expireAttempt,
    policy: 'standard',
    retryLimit: 20,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds: 60,
    retentionSeconds: 14 * DAY,
    deleteAfterSeconds: 7 * DAY,
    deadLetter: deadLetterOf(QUEUE.expireAttempt),
    notify: true,
  },
  {
    name: QUEUE.closeOrder,
    policy: 'standard',
    retryLimit: 10,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds: 30,
    retentionSeconds: 14 * DAY,
    deleteAfterSeconds: 7 * DAY,
    deadLetter: deadLetterOf(QUEUE.closeOrder),
    notify: true,
  },
  {
    name: QUEUE.executeRefund,
    policy: 'standard',
    retryLimit: 20,
    retryDelay: 5,
    retryBackoff: true,
    retryDelayMax: 1800,
    expireInSeconds: 60,
    retentionSeconds: 30 * DAY,
    deleteAfterSeconds: 30 * DAY,
    deadLetter: deadLetterOf(QUEUE.executeRefund),
    notify: true,
  },
  {
    // One sweep at a time across all workers.
    name: QUEUE.sweep,
    policy: 'singleton',
    retryLimit: 0,
    expireInSeconds: 120,
    retentionSeconds: DAY,
    deleteAfterSeconds: DAY,
    deadLetter: deadLetterOf(QUEUE.sweep),
  },
  {
    // A CSV export of up to EXPORT_MAX_ROWS rows: minutes at most; a retry starts the file again.
    name: QUEUE.consoleExport,
    policy: 'standard',
    retryLimit: 2,
    retryDelay: 5,
    expireInSeconds: 15 * 60,
    retentionSeconds: 7 * DAY,
    deleteAfterSeconds: 7 * DAY,
    deadLetter: deadLetterOf(QUEUE.consoleExport),
  },
  {
    // The statistics consumer of the outbox: recomputes the hours an event batch touches (idempotent, so
    // retries are harmless). Not the payment path: a slow rollup never holds a payment.
    name: QUEUE.statsRollup,
    policy: 'standard',
    retryLimit: 10,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds: 120,
    retentionSeconds: 2 * DAY,
    deleteAfterSeconds: DAY,
    deadLetter: deadLetterOf(QUEUE.statsRollup),
    notify: true,
  },
  {
    // Every minute: the current and previous hour (orders created and notifications carry no event).
    name: QUEUE.statsRefresh,
    policy: 'singleton',
    retryLimit: 0,
    expireInSeconds: 120,
    retentionSeconds: DAY,
    deleteAfterSeconds: DAY,
    deadLetter: deadLetterOf(QUEUE.statsRefresh),
  },
  {
    // Nightly: three Beijing days recomputed (late refunds, bills); minutes at most.
    name: QUEUE.statsNightly,
    policy: 'singleton',
    retryLimit: 3,
    retryDelay: 300,
    expireInSeconds: 30 * 60,
    retentionSeconds: 7 * DAY,
    deleteAfterSeconds: 7 * DAY,
    deadLetter: deadLetterOf(QUEUE.statsNightly),
  },
  {
    // Every minute: the watchlists raise and resolve alerts (server/monitoring/).
    name: QUEUE.monitoringEvaluate,
    policy: 'singleton',
    retryLimit: 0,
    expireInSeconds: 120,
    retentionSeconds: DAY,
    deleteAfterSeconds: DAY,
    deadLetter: deadLetterOf(QUEUE.monitoringEvaluate),
  },
  {
    // Writes deliveries for a batch of events: idempotent (unique per endpoint and message), so retried freely.
    name: QUEUE.webhooksFanout,
    policy: 'standard',
    retryLimit: 50,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds: 60,
    retentionSeconds: 14 * DAY,
    deleteAfterSeconds: 7 * DAY,
    deadLetter: deadLetterOf(QUEUE.webhooksFanout),
    notify: true,
  },
  {
    name: QUEUE.webhooksRecover,
    policy: 'standard',
    retryLimit: 5,
    retryDelay: 5,
    expireInSeconds: 15 * 60,
    retentionSeconds: 7 * DAY,
    deleteAfterSeconds: 7 * DAY,
    deadLetter: deadLetterOf(QUEUE.webhooksRecover),
  },
  {
    // 10:15 Beijing: bills exist from 09:00 and WeChat says to fetch after 10:00. A day whose bills are not
    // in yet throws and is retried every 10 minutes, until RECONCILIATION_RETRY_UNTIL_HOUR (the bill watchlist
    // has alerted since its deadline hour). One run at a time across workers.
    name: QUEUE.reconciliationDaily,
    policy: 'singleton',
    retryLimit: 14,
    retryDelay: 600,
    expireInSeconds: 30 * 60,
    retentionSeconds: 30 * DAY,
    deleteAfterSeconds: 30 * DAY,
    deadLetter: deadLetterOf(QUEUE.reconciliationDaily),
  },
  {
    // A manual run over up to 92 days (the API serves three months): long, so a generous expiry.
    name: QUEUE.reconciliationRun,
    policy: 'standard',
    retryLimit: 2,
    retryDelay: 30,
    expireInSeconds: 60 * 60,
    retentionSeconds: 30 * DAY,
    deleteAfterSeconds: 30 * DAY,
    deadLetter: deadLetterOf(QUEUE.reconciliationRun),
  },
];

export function queueDefinition(name: QueueName): Queue {
  const queue = QUEUES.find((q) => q.name === name);
  if (!queue) throw new Error(`queue ${name} is not in the catalogue`);
  return queue;
}

export function allQueueDefinitions(): Queue[] {
  const dead: Queue[] = QUEUES.filter((q) => q.deadLetter).map((q) => ({
    name: q.deadLetter!,
    policy: 'standard',
    retryLimit: 0,
    // Dead letters wait for a human: keep them for a long time.
    retentionSeconds: 365 * DAY,
    deleteAfterSeconds: 30 * DAY,
  }));
  // Dead-letter queues must exist before the queues that name them.
  return [...dead, ...QUEUES];
}
