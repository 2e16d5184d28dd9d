// Statistics rollups (issue 17): one-minute slices recomputed from the raw tables by the stats consumer of
// the outbox and by crons, hours folded from the slices and days from the hours. The dashboard reads only these tables.
// Money is fen (bigint: a day's takings overflow int4 long before an order does).
import { bigint, date, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

const fen = (name: string) => bigint(name, { mode: 'number' }).notNull().default(0);
const count = (name: string) => integer(name).notNull().default(0);
/** Counts per histogram bucket (bounds in server/stats/histogram.ts). */
const hist = (name: string) => jsonb(name).$type<number[]>().notNull().default([]);

/** The figures of one bucket, shared by the slice, hourly and daily tables. */
const figures = {
  /** Successful payments by paid time (orders' payments and late payments: what WeChat's bill lists). */
  paidCount: count('paid_count'),
  grossFen: fen('gross_fen'),
  latePaidCount: count('late_paid_count'),
  latePaidFen: fen('late_paid_fen'),
  /** Succeeded refunds, by the time they succeeded. */
  refundCount: count('refund_count'),
  refundFen: fen('refund_fen'),
  /** 0.6 % of each payment, rounded per payment (WeChat's standard rate); billed fees replace it per day. */
  feesEstimatedFen: fen('fees_estimated_fen'),
  /** How the payments were first learned (paid_via). */
  viaNotify: count('via_notify'),
  viaQuery: count('via_query'),
  viaShopper: count('via_shopper'),
  viaBill: count('via_bill'),
  /** Funnel of the orders created in the bucket (by creation time): created → QR shown → paid; expired. */
  createdCount: count('created_count'),
  qrShownCount: count('qr_shown_count'),
  createdPaidCount: count('created_paid_count'),
  expiredCount: count('expired_count'),
  /** Attempts (QR codes) of the orders created in the bucket: attempts − orders = renewals. */
  attemptCount: count('attempt_count'),
  /** Created → paid of the payments in the bucket (ms histogram). */
  timeToPayHist: hist('time_to_pay_hist'),
  /** Notifications received in the bucket, and all their deliveries (duplicates = deliveries − count). */
  notifyCount: count('notify_count'),
  notifyDeliveries: count('notify_deliveries'),
  /** WeChat's latency (success_time → received) and ours (received → processed), ms histograms. */
  wechatLatencyHist: hist('wechat_latency_hist'),
  ourLatencyHist: hist('our_latency_hist'),
  /** Rejected notifications by reason. */
  rejects: jsonb('rejects').$type<Record<string, number>>().notNull().default({}),
  lastNotifyAt: timestamp('last_notify_at', { withTimezone: true }),
  computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
};

/**
 * One slice of time (SLICE_MS in server/stats/time.ts, a minute): the unit the rollups recompute from the
 * raw tables, so a recompute reads a minute's rows however full the hour is.
 */
export const statsSlices = pgTable('stats_slices', {
  bucketStart: timestamp('bucket_start', { withTimezone: true }).primaryKey(),
  ...figures,
});

/** One hour, the sum of its slices (hours of Asia/Shanghai and UTC coincide: the offset is a whole number of hours). */
export const statsHourly = pgTable('stats_hourly', {
  bucketStart: timestamp('bucket_start', { withTimezone: true }).primaryKey(),
  ...figures,
});

/** One Beijing calendar day: the sum of its 24 hours, plus the fees of WeChat's bill once imported. */
export const statsDaily = pgTable('stats_daily', {
  day: date('day', { mode: 'string' }).primaryKey(),
  ...figures,
  /** Fees from WeChat's bill for the day (null until the bill is imported). */
  feesBilledFen: bigint('fees_billed_fen', { mode: 'number' }),
});

/**
 * Fees as WeChat billed them, per Beijing day, written by the bill import (recordBilledFees) before it
 * calls recomputeStats: kept apart from the rollups so a recompute never loses them.
 */
export const statsBilledFees = pgTable(
  'stats_billed_fees',
  {
    day: date('day', { mode: 'string' }).notNull(),
    /** Where the figure came from, e.g. the bill's kind ('ALL') — one row per source. */
    source: text('source').notNull(),
    feesFen: bigint('fees_fen', { mode: 'number' }).notNull(),
    importedAt: timestamp('imported_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.day, t.source] })],
);
