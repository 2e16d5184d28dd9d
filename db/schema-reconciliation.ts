// Reconciliation (issue 16): the bills as downloaded, their rows, the days reconciled and the discrepancies
// found. Bill rows are a snapshot of WeChat's view and are never edited by anything but a re-import.
import { sql } from 'drizzle-orm';
import { bigint, bigserial, customType, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { orders, paymentAttempts } from './schema-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * One bill file per (Beijing day, kind): `trade_ALL`, `fund_BASIC`, `fund_OPERATION`, `fund_FEES`.
 * status: not_ready (STATEMENT_CREATING), no_statement (NO_STATEMENT_EXIST, a quiet day: not an error),
 * imported, unparseable (raw kept, retried), failed (network or integrity; retried).
 */
export const billFiles = pgTable(
  'bill_files',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    billDate: text('bill_date').notNull(),
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    /** WeChat's hash_value: SHA-1 of the uncompressed file, checked on download. */
    sha1: text('sha1'),
    /** The file exactly as downloaded, gzip-compressed: evidence, and what a re-parse reads. */
    raw: bytea('raw'),
    rowCount: integer('row_count'),
    /** The bill's own summary line (counts and totals), as parsed. */
    summary: jsonb('summary'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull().defaultNow(),
    importedAt: timestamp('imported_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('bill_files_day_kind_idx').on(t.billDate, t.kind)],
);

/** Trade-bill detail rows. Payment rows have refund_id '' so the import key is one unique index. */
export const billTradeRows = pgTable(
  'bill_trade_rows',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    billDate: text('bill_date').notNull(),
    billType: text('bill_type').notNull(),
    transactionId: text('transaction_id').notNull(),
    refundId: text('refund_id').notNull().default(''),
    outTradeNo: text('out_trade_no').notNull(),
    outRefundNo: text('out_refund_no'),
    tradeState: text('trade_state').notNull(),
    /** 交易时间 (payment time, or refund application time on refund rows). */
    tradeTime: timestamp('trade_time', { withTimezone: true }).notNull(),
    totalFen: bigint('total_fen', { mode: 'number' }).notNull(),
    settlementFen: bigint('settlement_fen', { mode: 'number' }).notNull(),
    couponFen: bigint('coupon_fen', { mode: 'number' }).notNull(),
    refundFen: bigint('refund_fen', { mode: 'number' }).notNull(),
    applyRefundFen: bigint('apply_refund_fen', { mode: 'number' }).notNull(),
    refundStatus: text('refund_status').notNull().default(''),
    /** 手续费 in thousandths of a fen (5 decimals of yuan); negative on refund rows (the fee refunded). */
    feeMilliFen: bigint('fee_milli_fen', { mode: 'number' }).notNull(),
    rate: text('rate').notNull().default(''),
  },
  (t) => [
    uniqueIndex('bill_trade_rows_key_idx').on(t.billDate, t.billType, t.transactionId, t.refundId),
    index('bill_trade_rows_out_trade_no_idx').on(t.outTradeNo),
  ],
);

/** Fund-flow rows per account. WeChat's flow id is unique per movement; a re-import replaces a day's rows. */
export const billFundRows = pgTable(
  'bill_fund_rows',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    billDate: text('bill_date').notNull(),
    account: text('account').notNull(),
    position: integer('position').notNull(),
    bookedAt: timestamp('booked_at', { withTimezone: true }).notNull(),
    /** transaction_id or refund_id of what moved the money. */
    businessId: text('business_id').notNull(),
    flowId: text('flow_id').notNull(),
    name: text('name').notNull(),
    type: text('type').notNull(),
    direction: text('direction').notNull(),
    amountFen: bigint('amount_fen', { mode: 'number' }).notNull(),
    balanceFen: bigint('balance_fen', { mode: 'number' }).notNull(),
    voucher: text('voucher').notNull().default(''),
  },
  (t) => [uniqueIndex('bill_fund_rows_key_idx').on(t.billDate, t.account, t.position), index('bill_fund_rows_business_idx').on(t.businessId)],
);

/** One row per reconciled Beijing day: its state and the settlement report computed from the match. */
export const reconciliationDays = pgTable('reconciliation_days', {
  billDate: text('bill_date').primaryKey(),
  /** pending (bills not in yet) · provisional (matched, window still open) · reconciled · failed */
  status: text('status').notNull(),
  matchedPercent: text('matched_percent'),
  report: jsonb('report'),
  error: text('error'),
  runs: integer('runs').notNull().default(0),
  computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A difference between our ledger and WeChat's bills, one per (class, subject): recomputing a day finds the
 * same key and changes nothing. state: open · auto_resolved (a repair ran; `resolution` says what it did) ·
 * received · ignored · force_posted (a person decided, with a reason, audited).
 */
export const discrepancies = pgTable(
  'discrepancies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    billDate: text('bill_date').notNull(),
    class: text('class').notNull(),
    subjectKey: text('subject_key').notNull(),
    state: text('state').notNull().default('open'),
    orderId: uuid('order_id').references(() => orders.id),
    attemptId: uuid('attempt_id').references(() => paymentAttempts.id),
    outTradeNo: text('out_trade_no'),
    transactionId: text('transaction_id'),
    outRefundNo: text('out_refund_no'),
    /** Our side and the bill's side, as they were when found. */
    ours: jsonb('ours').notNull().default({}),
    bill: jsonb('bill').notNull().default({}),
    proposedFix: text('proposed_fix').notNull(),
    resolution: jsonb('resolution'),
    resolvedBy: text('resolved_by'),
    reason: text('reason'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('discrepancies_subject_idx').on(t.class, t.subjectKey),
    index('discrepancies_day_idx').on(t.billDate, t.class),
    index('discrepancies_state_idx').on(t.state, t.createdAt),
    index('discrepancies_order_idx').on(t.orderId).where(sql`${t.orderId} is not null`),
  ],
);

/** A manual run over a date or range (console or CLI): the console polls days_done for its progress bar. */
export const reconciliationRuns = pgTable(
  'reconciliation_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    fromDate: text('from_date').notNull(),
    toDate: text('to_date').notNull(),
    /** queued · running · done · failed */
    status: text('status').notNull().default('queued'),
    daysDone: integer('days_done').notNull().default(0),
    daysTotal: integer('days_total').notNull(),
    /** Per day: its status after the run. */
    results: jsonb('results').notNull().default([]),
    error: text('error'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('reconciliation_runs_created_idx').on(t.createdAt)],
);
