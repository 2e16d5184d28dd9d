// Monitoring (issue 17): the alerts' state history and the watchlists' thresholds set in the console.
import { bigint, bigserial, doublePrecision, index, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { alerts } from './schema-core';

/** Every change of an alert's state: who (a user, or the watchlist evaluator) and why. */
export const alertHistory = pgTable(
  'alert_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    alertId: bigint('alert_id', { mode: 'number' })
      .notNull()
      .references(() => alerts.id),
    fromState: text('from_state'),
    toState: text('to_state').notNull(),
    /** User id, or 'system' for the evaluator. */
    actor: text('actor').notNull(),
    note: text('note'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('alert_history_alert_idx').on(t.alertId, t.id)],
);

/** Console-editable settings, one row per key (monitoring.thresholds: server/monitoring/settings.ts). */
export const monitoringSettings = pgTable('monitoring_settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  updatedBy: text('updated_by'),
});

/**
 * Each process's own counters (HTTP latencies), flushed as absolute values every few seconds and summed
 * by /api/metrics across the cluster. A process's rows stay after it exits so sums never go backwards
 * while it is gone; rows older than a day are pruned (Prometheus reads the drop as a counter reset).
 */
export const metricsProcessSamples = pgTable(
  'metrics_process_samples',
  {
    process: text('process').notNull(),
    metric: text('metric').notNull(),
    /** Prometheus label text, e.g. `method="GET",status="2xx",le="0.1"`. */
    labels: text('labels').notNull(),
    value: doublePrecision('value').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.process, t.metric, t.labels] })],
);
