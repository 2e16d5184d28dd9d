// Bills in (issue 16 §1): apply for and download a Beijing day's trade bill (ALL) and fund-flow bill per
// account, keep the file gzip-compressed with WeChat's SHA-1 (checked by the client on download), parse it
// into bill rows. Network calls happen outside any transaction; each file is stored in one transaction.
// A quiet day (NO_STATEMENT_EXIST) is a status, not an error; an unparseable file keeps its bytes and is
// retried at the next run.
import { gzipSync } from 'node:zlib';
import { and, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '@/db/client';
import { billFiles, billFundRows, billTradeRows } from '@/db/schema';
import type { PaymentDeps } from '@/server/payments/deps';
import { type FundFlowBillReader, type FundFlowRow, readFundFlowBill, readTradeBill, type TradeBillReader, type TradeBillRow } from '@/server/wechatpay/bill';
import { WechatPayApiError } from '@/server/wechatpay/errors';
import { parseBillTime } from './days';

export const FUND_ACCOUNTS = ['BASIC', 'OPERATION', 'FEES'] as const;
export type FundAccount = (typeof FUND_ACCOUNTS)[number];
export type BillKind = 'trade_ALL' | `fund_${FundAccount}`;
export const BILL_KINDS: readonly BillKind[] = ['trade_ALL', ...FUND_ACCOUNTS.map((a) => `fund_${a}` as const)];

export type BillFileStatus = 'imported' | 'no_statement' | 'not_ready' | 'unparseable' | 'failed';
/** Statuses after which a file is settled: importing it again changes nothing unless WeChat's file changed. */
export const FINAL_STATUSES: readonly BillFileStatus[] = ['imported', 'no_statement'];

export interface FileOutcome {
  kind: BillKind;
  status: BillFileStatus;
  rows: number;
  /** True when the rows were (re)written; false for an identical re-import. */
  changed: boolean;
  error?: string;
}

/** Rows per insert statement: one JSON parameter each, so the statement size does not grow with the columns. */
const CHUNK = 5000;
const ANALYZE_AFTER_ROWS = 1000;

/** Imports every bill of `date`. Never throws for a bill's own problem: each file's outcome is its status. */
export async function importDay(deps: Pick<PaymentDeps, 'db' | 'gateway'>, date: string, opts: { skipFinal?: boolean } = {}): Promise<FileOutcome[]> {
  const done = opts.skipFinal
    ? new Map(
        (await deps.db.select().from(billFiles).where(eq(billFiles.billDate, date)))
          .filter((f) => (FINAL_STATUSES as readonly string[]).includes(f.status))
          .map((f) => [f.kind, f]),
      )
    : new Map<string, typeof billFiles.$inferSelect>();
  const out: FileOutcome[] = [];
  for (const kind of BILL_KINDS) {
    const f = done.get(kind);
    // A bill is a snapshot: once in, fetching it again can only return the same file.
    out.push(f ? { kind, status: f.status as BillFileStatus, rows: f.rowCount ?? 0, changed: false } : await importFile(deps, date, kind));
  }
  return out;
}

async function fetchFile(deps: Pick<PaymentDeps, 'gateway'>, date: string, kind: BillKind): Promise<{ sha1: string; file: Buffer }> {
  const client = deps.gateway().client;
  const applied =
    kind === 'trade_ALL'
      ? await client.applyTradeBill({ bill_date: date, bill_type: 'ALL', tar_type: 'GZIP' })
      : await client.applyFundFlowBill({ bill_date: date, account_type: kind.slice(5) as FundAccount, tar_type: 'GZIP' });
  return { sha1: applied.hash_value.toLowerCase(), file: await client.downloadBill(applied) };
}

export async function importFile(deps: Pick<PaymentDeps, 'db' | 'gateway'>, date: string, kind: BillKind): Promise<FileOutcome> {
  const { db } = deps;
  let fetched: { sha1: string; file: Buffer };
  try {
    fetched = await fetchFile(deps, date, kind);
  } catch (err) {
    if (err instanceof WechatPayApiError && err.code === 'NO_STATEMENT_EXIST') {
      await saveStatus(db, date, kind, { status: 'no_statement', rowCount: 0, error: null });
      return { kind, status: 'no_statement', rows: 0, changed: false };
    }
    const notReady = err instanceof WechatPayApiError && err.code === 'STATEMENT_CREATING';
    const error = err instanceof Error ? err.message.slice(0, 500) : String(err);
    await saveStatus(db, date, kind, { status: notReady ? 'not_ready' : 'failed', error });
    return { kind, status: notReady ? 'not_ready' : 'failed', rows: 0, changed: false, error };
  }
  return storeFile(db, date, kind, fetched.file, fetched.sha1);
}

/** Stores a downloaded file and its rows (exported for the benchmark, which has no WeChat to call). */
export async function storeFile(db: Db, date: string, kind: BillKind, file: Buffer, sha1: string): Promise<FileOutcome> {
  const [previous] = await db
    .select({ sha1: billFiles.sha1, status: billFiles.status, rowCount: billFiles.rowCount })
    .from(billFiles)
    .where(and(eq(billFiles.billDate, date), eq(billFiles.kind, kind)));
  // A re-imported, identical bill: nothing to do (the rows are already the snapshot).
  if (previous?.status === 'imported' && previous.sha1 === sha1) {
    await db
      .update(billFiles)
      .set({ attempts: sql`${billFiles.attempts} + 1`, fetchedAt: new Date() })
      .where(and(eq(billFiles.billDate, date), eq(billFiles.kind, kind)));
    return { kind, status: 'imported', rows: previous.rowCount ?? 0, changed: false };
  }
  const unparseable = async (err: unknown): Promise<FileOutcome> => {
    const error = err instanceof Error ? err.message.slice(0, 500) : String(err);
    await saveStatus(db, date, kind, { status: 'unparseable', error, sha1, raw: gzipSync(file), rowCount: null });
    return { kind, status: 'unparseable', rows: 0, changed: false, error };
  };
  let bill: TradeBillReader | FundFlowBillReader;
  try {
    bill = kind === 'trade_ALL' ? readTradeBill(file) : readFundFlowBill(file);
  } catch (err) {
    return unparseable(err);
  }
  // The rows are parsed and written a chunk at a time in one transaction: a bad line (or a row the database
  // refuses, a bad time say) rolls the whole file back, and the file is kept as unparseable.
  let rows: number;
  try {
    rows = await db.transaction(async (tx) => {
      const written =
        kind === 'trade_ALL'
          ? await writeTradeRows(tx, date, bill as TradeBillReader)
          : await writeFundRows(tx, date, kind.slice(5), bill as FundFlowBillReader);
      await saveStatus(tx, date, kind, {
        status: 'imported',
        sha1,
        raw: gzipSync(file),
        rowCount: written,
        summary: summaryOf(bill),
        error: null,
        importedAt: new Date(),
      });
      return written;
    });
  } catch (err) {
    return unparseable(err);
  }
  // A day's rows arrive all at once, right before they are matched: without fresh statistics the planner
  // takes a 100,000-row table for an empty one. ANALYZE samples, so it costs little whatever the size.
  if (rows >= ANALYZE_AFTER_ROWS) await db.execute(kind === 'trade_ALL' ? sql`analyze bill_trade_rows` : sql`analyze bill_fund_rows`);
  return { kind, status: 'imported', rows, changed: true };
}

function summaryOf(bill: TradeBillReader | FundFlowBillReader): Record<string, unknown> {
  const { raw: _raw, ...summary } = bill.summary;
  return summary;
}

/** Groups what `rows` yields into chunks of CHUNK, each written by `write` before the next is read. */
async function inChunks<T>(rows: Iterable<T>, write: (chunk: T[]) => Promise<void>): Promise<number> {
  let chunk: T[] = [];
  let n = 0;
  for (const row of rows) {
    chunk.push(row);
    n++;
    if (chunk.length === CHUNK) {
      await write(chunk);
      chunk = [];
    }
  }
  if (chunk.length) await write(chunk);
  return n;
}

async function saveStatus(
  db: Db | Tx,
  date: string,
  kind: BillKind,
  fields: Partial<Omit<typeof billFiles.$inferInsert, 'billDate' | 'kind'>> & { status: BillFileStatus },
): Promise<void> {
  await db
    .insert(billFiles)
    .values({ billDate: date, kind, attempts: 1, ...fields })
    .onConflictDoUpdate({
      target: [billFiles.billDate, billFiles.kind],
      set: { ...fields, attempts: sql`${billFiles.attempts} + 1`, fetchedAt: new Date() },
    });
}

/**
 * Keyed on (bill date, bill type, transaction id, refund id): importing the same bill twice writes the same
 * rows; a later download of the same day (WeChat does not change a bill, but a retry may fetch one) replaces them.
 */
async function writeTradeRows(tx: Tx, date: string, bill: TradeBillReader): Promise<number> {
  const toRow = (r: TradeBillRow) => ({
    billDate: date,
    billType: 'ALL',
    transactionId: r.transactionId,
    refundId: r.refundId ?? '',
    outTradeNo: r.outTradeNo,
    outRefundNo: r.outRefundNo,
    tradeState: r.tradeState,
    tradeTime: parseBillTime(r.tradeTime),
    totalFen: r.totalFen,
    settlementFen: r.settlementTotalFen,
    couponFen: r.couponFen,
    refundFen: r.refundFen,
    applyRefundFen: r.applyRefundFen,
    refundStatus: r.refundStatus,
    feeMilliFen: r.feeMilliFen,
    rate: r.rate,
  });
  // The file is the snapshot: its rows replace the day's, once per key (a key twice in one file is one row).
  await tx.delete(billTradeRows).where(and(eq(billTradeRows.billDate, date), eq(billTradeRows.billType, 'ALL')));
  return inChunks(bill.rows(), async (rows) => {
    const chunk = JSON.stringify(rows.map(toRow));
    await tx.execute(sql`
      insert into bill_trade_rows (bill_date, bill_type, transaction_id, refund_id, out_trade_no, out_refund_no, trade_state, trade_time,
                                   total_fen, settlement_fen, coupon_fen, refund_fen, apply_refund_fen, refund_status, fee_milli_fen, rate)
      select "billDate", "billType", "transactionId", "refundId", "outTradeNo", "outRefundNo", "tradeState", "tradeTime",
             "totalFen", "settlementFen", "couponFen", "refundFen", "applyRefundFen", "refundStatus", "feeMilliFen", "rate"
      from jsonb_to_recordset(${chunk}::text::jsonb) as x("billDate" text, "billType" text, "transactionId" text, "refundId" text,
           "outTradeNo" text, "outRefundNo" text, "tradeState" text, "tradeTime" timestamptz, "totalFen" bigint, "settlementFen" bigint,
           "couponFen" bigint, "refundFen" bigint, "applyRefundFen" bigint, "refundStatus" text, "feeMilliFen" bigint, "rate" text)
      on conflict do nothing`);
  });
}

/** Fund rows have no business key of their own across downloads: a day's rows are the file's, in order. */
async function writeFundRows(tx: Tx, date: string, account: string, bill: FundFlowBillReader): Promise<number> {
  await tx.delete(billFundRows).where(and(eq(billFundRows.billDate, date), eq(billFundRows.account, account)));
  const toRow = (r: FundFlowRow, position: number) => ({
    billDate: date,
    account,
    position,
    bookedAt: parseBillTime(r.time),
    businessId: r.businessId,
    flowId: r.flowId,
    name: r.name,
    type: r.type,
    direction: r.direction,
    amountFen: r.amountFen,
    balanceFen: r.balanceFen,
    voucher: r.voucher,
  });
  let position = 0;
  return inChunks(bill.rows(), async (rows) => {
    const chunk = JSON.stringify(rows.map((r) => toRow(r, position++)));
    await tx.execute(sql`
      insert into bill_fund_rows (bill_date, account, position, booked_at, business_id, flow_id, name, type, direction, amount_fen, balance_fen, voucher)
      select "billDate", account, position, "bookedAt", "businessId", "flowId", name, type, direction, "amountFen", "balanceFen", coalesce(voucher, '')
      from jsonb_to_recordset(${chunk}::text::jsonb) as x("billDate" text, account text, position integer, "bookedAt" timestamptz,
           "businessId" text, "flowId" text, name text, type text, direction text, "amountFen" bigint, "balanceFen" bigint, voucher text)`);
  });
}
