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
import reconciliationDaily from './handlers/reconciliation-daily';
import reconciliationRun from './handlers/reconciliation-run';
import sweep from './handlers/sweep';
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
  webhooksRecover,
  reconciliationDaily,
  reconciliationRun,
] as JobHandler<QueueName>[];

/** Cron schedules: queue → cron expression, in `tz` when given (pg-boss 12's schedule option; default UTC). */
export const SCHEDULES: readonly { queue: QueueName; cron: string; tz?: string }[] = [
  { queue: sweep.queue, cron: '* * * * *' },
  { queue: statsRefresh.queue, cron: '* * * * *' },
  { queue: monitoringEvaluate.queue, cron: '* * * * *' },
  // 03:30 Beijing (pg-boss crons are UTC).
  { queue: statsNightly.queue, cron: '30 19 * * *' },
  // WeChat's bill day is Beijing's: 10:15 Asia/Shanghai, after the 10:00 the docs say to fetch from.
  { queue: reconciliationDaily.queue, cron: '15 10 * * *', tz: 'Asia/Shanghai' },
];

/** Each queue's worker settings as declared here, for the queue monitor (settings that depend on the deps: shown as unset). */
export function workSettingsOf(queue: string): { batchSize?: number; localConcurrency?: number } | undefined {
  const handler = HANDLERS.find((h) => h.queue === queue);
  if (!handler) return undefined;
  return typeof handler.work === 'function' ? {} : (handler.work as { batchSize?: number; localConcurrency?: number });
}
