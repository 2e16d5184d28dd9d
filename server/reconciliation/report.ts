// The daily settlement report (issue 16 §4): our ledger, the trade bill and the fund-flow bill side by side,
// computed in SQL aggregates (a day may hold 100,000 rows) and kept with the day. The trade bill is the
// settlement's source of truth; the ledger's fees are the billed fee where the bill has the payment and our
// estimate elsewhere; net = settlement gross − refunds − fees + fee refunds.
import { and, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { billFiles, billFundRows, discrepancies, reconciliationDays } from '@/db/schema';
import { addDays, dayBounds } from './days';
import { FUND_ACCOUNTS } from './import';

export interface SettlementColumn {
  paidCount: number;
  grossFen: number;
  settlementGrossFen: number;
  couponFen: number;
  refundsRequestedFen: number;
  refundsFen: number;
  /** Fees to five decimals of yuan (thousandths of a fen), and rounded to fen. */
  feesMilliFen: number;
  feesFen: number;
  feeRefundsFen: number;
  netFen: number;
}

export interface FundAccountColumn {
  account: string;
  count: number;
  incomeFen: number;
  expenseFen: number;
  closingBalanceFen: number | null;
}

export interface DayReport {
  date: string;
  ledger: SettlementColumn;
  trade: SettlementColumn;
  fund: FundAccountColumn[];
  /** Fund BASIC income and expense split as the settlement columns are (trade income, refunds out, fees). */
  fundSettlement: { settlementGrossFen: number; refundsFen: number; feesFen: number; feeRefundsFen: number; netFen: number };
  matchedPercent: number;
  rows: number;
  matchedRows: number;
  openByClass: Record<string, number>;
  files: Record<string, string>;
}

const n = (v: unknown) => Number(v ?? 0);
const fenOfMilli = (m: number) => (m >= 0 ? Math.floor((m + 500) / 1000) : -Math.floor((-m + 500) / 1000));

function column(c: Omit<SettlementColumn, 'feesFen' | 'netFen'>): SettlementColumn {
  const feesFen = fenOfMilli(c.feesMilliFen);
  return { ...c, feesFen, netFen: c.settlementGrossFen - c.refundsFen - feesFen + c.feeRefundsFen };
}

export async function computeReport(db: DbOrTx, date: string, feePpm: number): Promise<DayReport> {
  const { from, to } = dayBounds(date);
  const [trade] = await db.execute<Record<string, string>>(sql`
    select count(*) filter (where refund_id = '') as paid_count,
           coalesce(sum(total_fen) filter (where refund_id = ''), 0) as gross,
           coalesce(sum(settlement_fen) filter (where refund_id = ''), 0) as settlement,
           coalesce(sum(coupon_fen) filter (where refund_id = ''), 0) as coupons,
           coalesce(sum(apply_refund_fen) filter (where refund_id <> ''), 0) as refunds_requested,
           coalesce(sum(refund_fen) filter (where refund_id <> '' and refund_status = 'SUCCESS'), 0) as refunded,
           coalesce(sum(fee_milli_fen) filter (where refund_id = ''), 0) as fees,
           coalesce(-sum(fee_milli_fen) filter (where refund_id <> ''), 0) as fee_refunds
    from bill_trade_rows where bill_date = ${date} and bill_type = 'ALL'`);
  // Ours: attempts paid that day (late ones too: WeChat took the money), billed fee when the bill has it.
  const [ledger] = await db.execute<Record<string, string>>(sql`
    with paid as (
      select a.amount_fen, b.coupon_fen, b.fee_milli_fen
      from payment_attempts a
      left join bill_trade_rows b on b.transaction_id = a.transaction_id and b.refund_id = '' and b.bill_date = ${date}
      where a.status = 'paid' and a.paid_at >= ${from.toISOString()}::timestamptz and a.paid_at < ${to.toISOString()}::timestamptz
    )
    select count(*) as paid_count, coalesce(sum(amount_fen), 0) as gross, coalesce(sum(coupon_fen), 0) as coupons,
           coalesce(sum(coalesce(fee_milli_fen, floor(((amount_fen - coalesce(coupon_fen, 0))::bigint * ${feePpm} + 500000) / 1000000) * 1000)), 0) as fees
    from paid`);
  const [ledgerRefunds] = await db.execute<Record<string, string>>(sql`
    select coalesce(sum(r.amount_fen), 0) as requested,
           coalesce(sum(r.amount_fen) filter (where r.status = 'succeeded'), 0) as refunded,
           coalesce(sum(-b.fee_milli_fen) filter (where r.status = 'succeeded'), 0) as fee_refunds
    from refunds r
    left join bill_trade_rows b on b.out_refund_no = r.out_refund_no and b.refund_id <> ''
    where r.created_at >= ${from.toISOString()}::timestamptz and r.created_at < ${to.toISOString()}::timestamptz`);
  const fundRows = await db
    .select({
      account: billFundRows.account,
      count: sql<string>`count(*)`,
      income: sql<string>`coalesce(sum(${billFundRows.amountFen}) filter (where ${billFundRows.direction} = 'income'), 0)`,
      expense: sql<string>`coalesce(sum(${billFundRows.amountFen}) filter (where ${billFundRows.direction} = 'expense'), 0)`,
      closing: sql<string>`(array_agg(${billFundRows.balanceFen} order by ${billFundRows.position} desc))[1]`,
      tradeIn: sql<string>`coalesce(sum(${billFundRows.amountFen}) filter (where ${billFundRows.name} = '交易' and ${billFundRows.direction} = 'income'), 0)`,
      refundOut: sql<string>`coalesce(sum(case when ${billFundRows.name} = '退款' then case when ${billFundRows.direction} = 'expense' then ${billFundRows.amountFen} else -${billFundRows.amountFen} end end), 0)`,
      feeOut: sql<string>`coalesce(sum(${billFundRows.amountFen}) filter (where ${billFundRows.name} = '手续费' and ${billFundRows.direction} = 'expense'), 0)`,
      feeIn: sql<string>`coalesce(sum(${billFundRows.amountFen}) filter (where ${billFundRows.name} = '手续费' and ${billFundRows.direction} = 'income'), 0)`,
    })
    .from(billFundRows)
    .where(eq(billFundRows.billDate, date))
    .groupBy(billFundRows.account);
  const fund = FUND_ACCOUNTS.map((account) => {
    const r = fundRows.find((f) => f.account === account);
    return { account, count: n(r?.count), incomeFen: n(r?.income), expenseFen: n(r?.expense), closingBalanceFen: r ? n(r.closing) : null };
  });
  const basic = fundRows.find((f) => f.account === 'BASIC');
  const fs = { settlementGrossFen: n(basic?.tradeIn), refundsFen: n(basic?.refundOut), feesFen: n(basic?.feeOut), feeRefundsFen: n(basic?.feeIn) };
  const [match] = await db.execute<Record<string, string>>(matchedRowsQuery(date));
  const open = await db
    .select({ cls: discrepancies.class, count: sql<string>`count(*)` })
    .from(discrepancies)
    .where(and(eq(discrepancies.billDate, date), eq(discrepancies.state, 'open')))
    .groupBy(discrepancies.class);
  const files = await db.select({ kind: billFiles.kind, status: billFiles.status }).from(billFiles).where(eq(billFiles.billDate, date));
  const rows = n(match?.rows);
  const matchedRows = n(match?.matched);
  return {
    date,
    ledger: column({
      paidCount: n(ledger?.paid_count),
      grossFen: n(ledger?.gross),
      settlementGrossFen: n(ledger?.gross) - n(ledger?.coupons),
      couponFen: n(ledger?.coupons),
      refundsRequestedFen: n(ledgerRefunds?.requested),
      refundsFen: n(ledgerRefunds?.refunded),
      feesMilliFen: n(ledger?.fees),
      feeRefundsFen: fenOfMilli(n(ledgerRefunds?.fee_refunds)),
    }),
    trade: column({
      paidCount: n(trade?.paid_count),
      grossFen: n(trade?.gross),
      settlementGrossFen: n(trade?.settlement),
      couponFen: n(trade?.coupons),
      refundsRequestedFen: n(trade?.refunds_requested),
      refundsFen: n(trade?.refunded),
      feesMilliFen: n(trade?.fees),
      feeRefundsFen: fenOfMilli(n(trade?.fee_refunds)),
    }),
    fund,
    fundSettlement: { ...fs, netFen: fs.settlementGrossFen - fs.refundsFen - fs.feesFen + fs.feeRefundsFen },
    matchedPercent: rows === 0 ? 100 : Math.floor((matchedRows * 10000) / rows) / 100,
    rows,
    matchedRows,
    openByClass: Object.fromEntries(open.map((o) => [o.cls, n(o.count)])),
    files: Object.fromEntries(files.map((f) => [f.kind, f.status])),
  };
}

/**
 * Matched: a bill row found in our ledger (same transaction, same amount) and in the fund flow (same or next
 * day). Set-based (one pass of joins, each side at most one row per bill row): a day may hold 100,000 rows,
 * and a correlated EXISTS per row made the planner walk the whole fund flow once per row. Exported for the
 * benchmark's EXPLAIN.
 */
export function matchedRowsQuery(date: string) {
  const next = addDays(date, 1);
  return sql`
    with b as (
      select out_trade_no, out_refund_no, refund_id, transaction_id, total_fen,
             case when refund_id = '' then transaction_id else refund_id end as business_id
      from bill_trade_rows where bill_date = ${date} and bill_type = 'ALL'
    ), fund as (
      select distinct business_id from bill_fund_rows where bill_date in (${date}, ${next})
    )
    select count(*) as rows,
           count(*) filter (where (a.id is not null or r.id is not null) and f.business_id is not null) as matched
    from b
    left join payment_attempts a
      on b.refund_id = '' and a.out_trade_no = b.out_trade_no and a.transaction_id = b.transaction_id and a.amount_fen = b.total_fen
    left join refunds r on b.refund_id <> '' and r.out_refund_no = b.out_refund_no
    left join fund f on f.business_id = b.business_id`;
}

/** `GET /api/v1/reconciliation/days/{date}`'s body, exactly; null when the day was never reconciled. */
export async function reconciliationDay(db: DbOrTx, date: string) {
  const [day] = await db.select().from(reconciliationDays).where(eq(reconciliationDays.billDate, date));
  if (!day) return null;
  const list = await db.select().from(discrepancies).where(eq(discrepancies.billDate, date)).orderBy(desc(discrepancies.createdAt));
  const report = day.report as DayReport | null;
  const t = report?.trade;
  return {
    date,
    status: day.status,
    matchedPercent: report?.matchedPercent ?? null,
    discrepancies: list.map((d) => ({
      id: d.id,
      class: d.class,
      state: d.state,
      orderId: d.orderId,
      outTradeNo: d.outTradeNo,
      transactionId: d.transactionId,
      outRefundNo: d.outRefundNo,
      proposedFix: d.proposedFix,
      ours: d.ours,
      bill: d.bill,
      resolution: d.resolution,
    })),
    settlement: {
      grossFen: t?.grossFen ?? 0,
      settlementGrossFen: t?.settlementGrossFen ?? 0,
      refundsFen: t?.refundsFen ?? 0,
      feesFen: t?.feesFen ?? 0,
      feeRefundsFen: t?.feeRefundsFen ?? 0,
      netFen: t?.netFen ?? 0,
    },
  };
}

/** The console's day view: the API shape plus the full three-column report. */
export async function dayDetail(db: DbOrTx, date: string): Promise<{ api: Awaited<ReturnType<typeof reconciliationDay>>; report: DayReport | null }> {
  const [row] = await db.select({ report: reconciliationDays.report }).from(reconciliationDays).where(eq(reconciliationDays.billDate, date));
  return { api: await reconciliationDay(db, date), report: (row?.report as DayReport | null) ?? null };
}
