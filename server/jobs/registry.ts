// Every queue's handler module, one per queue of the catalogue (a test keeps the two in step).
import type { QueueName } from '@/server/queue/catalogue';
import type { JobHandler } from './handler';
import closeOrder from './handlers/close-order';
import consoleExport from './handlers/console-export';
import executeRefund from './handlers/execute-refund';
import expireAttempt from './handlers/expire-attempt';
import monitoringEvaluate from './handlers/monitoring-evaluate';
import processNotification from './handlers/process-notification';
import queryAttempt from './handlers/query-attempt';
import statsNightly from './handlers/stats-nightly';
import statsRefresh from './handlers/stats-refresh';
import statsRollup from './handlers/stats-rollup';
import sweep from './handlers/sweep';
import webhooksDeliver from './handlers/webhooks-deliver';
import webhooksFanout from './handlers/webhooks-fanout';
import webhooksRecover from './handlers/webhooks-recover';

export const HANDLERS: readonly JobHandler<QueueName>[] = [
  processNotification,
  queryAttempt,
  expireAttempt,
  closeOrder,
  executeRefund,
  sweep,
  consoleExport,
  statsRollup,
  statsRefresh,
  statsNightly,
  monitoringEvaluate,
  webhooksFanout,
  webhooksDeliver,
  webhooksRecover,
] as JobHandler<QueueName>[];

/** Cron schedules: queue → cron expression. */
export const SCHEDULES: readonly { queue: QueueName; cron: string }[] = [
  { queue: sweep.queue, cron: '* * * * *' },
  { queue: statsRefresh.queue, cron: '* * * * *' },
  { queue: monitoringEvaluate.queue, cron: '* * * * *' },
  // 03:30 Beijing (pg-boss crons are UTC).
  { queue: statsNightly.queue, cron: '30 19 * * *' },
];
