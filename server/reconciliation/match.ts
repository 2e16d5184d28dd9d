// Matching (issue 16 §2): our ledger (attempts, orders, refunds), the trade bill and the fund-flow bill, by id,
// across a ±1-day window. A bill-only payment is acted on at once (the bill is WeChat's ground truth); a
// payment only we have is declared only once the next day's bill is in (it may be booked there). Repairs
// go through the domains' own functions with path `bill`: the payment domain (query, then applyPaymentResult,
// which applies the late-payment policy), the refund port; never a direct write to orders or refunds.
// Network calls (queries) happen outside transactions; each finding is written in its own.
import type { Tx } from '@/db/client';
import { and, asc, eq, gt, gte, lt, sql } from 'drizzle-orm';
import { alerts, billFiles, billTradeRows, orders, paymentAttempts, refunds } from '@/db/schema';
import { paymentContext } from '@/server/payments/context';
import type { PaymentDeps } from '@/server/payments/deps';
import { applyPaymentResult } from '@/server/payments/payment-result';
import { transitionOrder } from '@/server/orders/state';
import { rebuildOrderFromTransaction } from '@/server/payments/rebuild';
import { WechatPayApiError } from '@/server/wechatpay/errors';
import type { Transaction } from '@/server/wechatpay/schemas';
import { addDays, dayBounds } from './days';
import { type DiscrepancyClass, findDiscrepancy, recordFinding, type Finding } from './discrepancies';
import { applyQueriedRefundStatus, importExternalRefund } from './refund-port';
import { FINAL_STATUSES } from './import';

/** Our out_trade_no shape (server/payments/orders.ts newOutTradeNo): a bill row with it and no order is ours, lost. */
const OUR_OUT_TRADE_NO = /^SP\d{14}[0-9A-Za-z]{12}$/;

export type DeclaredDay = { status: 'pending' | 'provisional' | 'reconciled'; windowClosed: boolean; findings: number; repairs: number };

/** Fee on `fen` at `ppm`, rounded half up to the fen per payment, as WeChat charges it. */
export function estimateFee(fen: number, ppm: number): number {
  return Math.floor((fen * ppm + 500_000) / 1_000_000);
}

/** The bill's five-decimal fee (thousandths of a fen) rounded half up to whole fen. */
export function milliFenToFen(milli: number): number {
  return milli >= 0 ? Math.floor((milli + 500) / 1000) : -Math.floor((-milli + 500) / 1000);
}

const REFUND_STATUS: Record<string, 'succeeded' | 'processing' | 'closed' | 'abnormal'> = {
  SUCCESS: 'succeeded',
  PROCESSING: 'processing',
  CLOSED: 'closed',
  ABNORMAL: 'abnormal',
};

async function fileFinal(deps: Pick<PaymentDeps, 'db'>, date: string): Promise<boolean> {
  const [f] = await deps.db
    .select({ status: billFiles.status })
    .from(billFiles)
    .where(and(eq(billFiles.billDate, date), eq(billFiles.kind, 'trade_ALL')));
  return !!f && (FINAL_STATUSES as readonly string[]).includes(f.status);
}

/** Bill payment rows read a page at a time: a day can have 100,000s, which need not all be in memory at once. */
const PAGE = 2000;

/** The day's payment rows with our attempt and order beside each, in transaction-id order, page by page. */
async function* paymentRowsOf(db: PaymentDeps['db'], date: string) {
  let after = '';
  for (;;) {
    const page = await db
      .select({
        row: billTradeRows,
        attemptId: paymentAttempts.id,
        attemptStatus: paymentAttempts.status,
        attemptAmount: paymentAttempts.amountFen,
        attemptTx: paymentAttempts.transactionId,
        orderId: orders.id,
        orderStatus: orders.status,
      })
      .from(billTradeRows)
      .leftJoin(paymentAttempts, eq(paymentAttempts.outTradeNo, billTradeRows.outTradeNo))
      .leftJoin(orders, eq(orders.id, paymentAttempts.orderId))
      // The import's key (bill_trade_rows_key_idx) walks the day in order.
      .where(and(eq(billTradeRows.billDate, date), eq(billTradeRows.billType, 'ALL'), eq(billTradeRows.refundId, ''), gt(billTradeRows.transactionId, after)))
      .orderBy(asc(billTradeRows.transactionId))
      .limit(PAGE);
    yield* page;
    if (page.length < PAGE) return;
    after = page.at(-1)!.row.transactionId;
  }
}

/** Matches one Beijing day. Idempotent: a recomputed day finds the same discrepancies and repairs nothing twice. */
export async function matchDay(deps: PaymentDeps, date: string): Promise<DeclaredDay> {
  const { db } = deps;
  if (!(await fileFinal(deps, date))) return { status: 'pending', windowClosed: false, findings: 0, repairs: 0 };
  const windowClosed = await fileFinal(deps, addDays(date, 1));
  let findings = 0;
  let repairs = 0;
  // `extra` runs first in the finding's transaction; what it returns amends the finding (a rebuilt order's id).
  // biome-ignore lint/suspicious/noConfusingVoidType: most extras amend nothing and return void
  const write = async (f: Finding, extra?: (tx: Tx) => Promise<Partial<Finding> | void>) => {
    await db.transaction(async (tx) => {
      const amend = extra ? await extra(tx) : undefined;
      const r = await recordFinding(tx, amend ? { ...f, ...amend } : f);
      if (r.written) findings++;
    });
  };
  const known = async (cls: DiscrepancyClass, key: string) => {
    const d = await findDiscrepancy(db, cls, key);
    return d !== null && d.state !== 'open';
  };

  // ---------------------------------------------------------------- payments in the trade bill
  const paymentRows = paymentRowsOf(db, date);

  const ppm = deps.env.RECONCILIATION_FEE_RATE_PPM;
  let feeDiffFen = 0;
  for await (const p of paymentRows) {
    const r = p.row;
    const billSide = {
      outTradeNo: r.outTradeNo,
      transactionId: r.transactionId,
      totalFen: r.totalFen,
      settlementFen: r.settlementFen,
      couponFen: r.couponFen,
      tradeTime: r.tradeTime.toISOString(),
      feeMilliFen: r.feeMilliFen,
    };
    const base = { billDate: date, outTradeNo: r.outTradeNo, transactionId: r.transactionId, bill: billSide };
    if (!p.attemptId || !p.orderId) {
      const ours = OUR_OUT_TRADE_NO.test(r.outTradeNo);
      const cls = ours ? 'order_missing' : 'external_trade';
      const existing = await findDiscrepancy(db, cls, r.transactionId);
      // An external trade is only reported; a lost order of ours is retried until it is rebuilt.
      if (existing && (!ours || existing.state !== 'open')) continue;
      // WeChat's own record, not the bill alone, is what an order is rebuilt from.
      const t = ours ? await query(deps, r.outTradeNo) : null;
      await write(
        {
          ...base,
          class: cls,
          subjectKey: r.transactionId,
          state: 'open',
          ours: { found: false },
          proposedFix: ours ? 'rebuild_from_query' : 'ignore_external',
        },
        async (tx) => {
          if (!ours) return;
          if (!existing) {
            await tx.insert(alerts).values({
              kind: 'reconciliation_order_missing',
              message: `P1: the ${date} trade bill has a payment ${r.transactionId} for ${r.outTradeNo}, which looks like ours, but no such order exists`,
              data: { priority: 'P1', ...billSide },
            });
          }
          const rebuilt = t ? await rebuildOrderFromTransaction(tx, t, paymentContext(deps, 'bill'), { billDate: date, discrepancy: cls }) : null;
          if (!rebuilt?.rebuilt) {
            return { resolution: { action: 'rebuild_from_query', outcome: rebuilt?.reason ?? 'not_found', wechatState: t?.trade_state ?? null } };
          }
          repairs++;
          return {
            state: 'auto_resolved',
            orderId: rebuilt.orderId,
            resolution: { action: 'rebuilt_from_query', orderId: rebuilt.orderId, wechatState: t!.trade_state },
          };
        },
      );
      continue;
    }
    const oursSide = {
      attemptId: p.attemptId,
      attemptStatus: p.attemptStatus,
      amountFen: p.attemptAmount,
      transactionId: p.attemptTx,
      orderStatus: p.orderStatus,
    };
    const common = { ...base, orderId: p.orderId, attemptId: p.attemptId, ours: oursSide };
    if (p.attemptStatus !== 'paid') {
      // Bill paid, ours not (yet): ask WeChat, then let the payment domain decide (late-payment policy included).
      const cls: DiscrepancyClass = p.orderStatus === 'awaiting_payment' ? 'local_unpaid' : 'duplicate_payment';
      if (await known(cls, r.transactionId)) continue;
      const outcome = await queryAndApply(deps, r.outTradeNo);
      const repaired = outcome === 'paid' || outcome === 'late_payment' || outcome === 'duplicate';
      if (repaired) repairs++;
      await write({
        ...common,
        class: cls,
        subjectKey: r.transactionId,
        state: repaired ? 'auto_resolved' : 'open',
        proposedFix: 'query_then_mark_paid',
        resolution: { action: 'query_then_mark_paid', outcome },
      });
      continue;
    }
    if (p.attemptTx !== r.transactionId) {
      // Paid here by another transaction: the bill's is a second payment.
      // Found once: its query may freeze the order with an alert, which a recompute must not repeat.
      if (await findDiscrepancy(db, 'duplicate_payment', r.transactionId)) continue;
      const outcome = await queryAndApply(deps, r.outTradeNo);
      await write({
        ...common,
        class: 'duplicate_payment',
        subjectKey: r.transactionId,
        state: 'open',
        proposedFix: 'review_double_payment',
        resolution: { action: 'query', outcome },
      });
      continue;
    }
    // Like with like: the order amount (订单金额) against ours; coupons are part of it, not a difference.
    if (r.totalFen !== p.attemptAmount) {
      if (await findDiscrepancy(db, 'amount_mismatch', r.transactionId)) continue;
      await write({ ...common, class: 'amount_mismatch', subjectKey: r.transactionId, state: 'open', proposedFix: 'review_frozen_order' }, async (tx) => {
        await freeze(tx, p.orderId!, p.attemptId!, 'amount_mismatch', { billFen: r.totalFen, oursFen: p.attemptAmount, transactionId: r.transactionId });
      });
      continue;
    }
    const billedFee = milliFenToFen(r.feeMilliFen);
    const estimated = estimateFee(r.settlementFen, ppm);
    if (billedFee !== estimated) {
      feeDiffFen += Math.abs(billedFee - estimated);
      await write({
        ...common,
        ours: { ...oursSide, estimatedFeeFen: estimated },
        class: 'fee_mismatch',
        subjectKey: r.transactionId,
        state: 'auto_resolved',
        proposedFix: 'adopt_billed_fee',
        resolution: { action: 'adopted_billed_fee', billedFeeFen: billedFee, estimatedFeeFen: estimated },
      });
    }
  }
  if (feeDiffFen > 1) {
    const [already] = await db
      .select({ id: alerts.id })
      .from(alerts)
      .where(and(eq(alerts.kind, 'reconciliation_fee'), sql`${alerts.data}->>'billDate' = ${date}`));
    if (!already) {
      await db.insert(alerts).values({
        kind: 'reconciliation_fee',
        message: `Fees billed for ${date} differ from the configured rate by ${feeDiffFen} fen`,
        data: { billDate: date, differenceFen: feeDiffFen },
      });
    }
  }

  // ---------------------------------------------------------------- refunds in the trade bill
  const refundRows = await db
    .select({ row: billTradeRows, ours: refunds, attemptId: paymentAttempts.id, orderId: paymentAttempts.orderId })
    .from(billTradeRows)
    .leftJoin(refunds, eq(refunds.outRefundNo, billTradeRows.outRefundNo))
    .leftJoin(paymentAttempts, eq(paymentAttempts.outTradeNo, billTradeRows.outTradeNo))
    .where(and(eq(billTradeRows.billDate, date), sql`${billTradeRows.refundId} <> ''`));
  for (const { row: r, ours, attemptId, orderId } of refundRows) {
    const billStatus = REFUND_STATUS[r.refundStatus] ?? 'processing';
    const billSide = { outRefundNo: r.outRefundNo, refundId: r.refundId, refundFen: r.refundFen, status: r.refundStatus, tradeTime: r.tradeTime.toISOString() };
    const base = { billDate: date, outTradeNo: r.outTradeNo, transactionId: r.transactionId, outRefundNo: r.outRefundNo, bill: billSide, orderId, attemptId };
    if (!ours) {
      if (!attemptId || !orderId) continue; // a refund of a trade we do not know: its payment row is the finding
      if (await known('external_refund', r.refundId)) continue;
      await write(
        {
          ...base,
          class: 'external_refund',
          subjectKey: r.refundId,
          state: 'auto_resolved',
          ours: { found: false },
          proposedFix: 'import_external_refund',
          resolution: { action: 'imported_external_refund', status: billStatus, amountFen: r.refundFen },
        },
        async (tx) => {
          await importExternalRefund(tx, {
            orderId,
            attemptId,
            outRefundNo: r.outRefundNo ?? r.refundId,
            refundId: r.refundId,
            amountFen: r.refundFen,
            status: billStatus,
            source: 'bill',
          });
        },
      );
      repairs++;
      continue;
    }
    if (ours.amountFen !== r.refundFen && r.refundFen > 0) {
      if (await findDiscrepancy(db, 'amount_mismatch', r.refundId)) continue;
      await write({
        ...base,
        class: 'amount_mismatch',
        subjectKey: r.refundId,
        state: 'open',
        ours: { amountFen: ours.amountFen, status: ours.status },
        proposedFix: 'review_refund_amount',
      });
      continue;
    }
    if (ours.status !== billStatus) {
      // The bill is a snapshot taken at 09:00: a refund still processing then may have finished since.
      if (await known('refund_state', r.refundId)) continue;
      const queried = await queryRefund(deps, ours.outRefundNo);
      const oursSide = { status: ours.status, amountFen: ours.amountFen, refundId: ours.refundId };
      const agrees = queried !== null && REFUND_STATUS[queried.status] === ours.status;
      await write(
        {
          ...base,
          class: 'refund_state',
          subjectKey: r.refundId,
          state: queried ? 'auto_resolved' : 'open',
          ours: oursSide,
          proposedFix: 'query_refund',
          resolution: { action: 'queried_refund', wechatStatus: queried?.status ?? null, applied: queried !== null && !agrees },
        },
        async (tx) => {
          if (queried && !agrees) await applyQueriedRefundStatus(tx, ours.outRefundNo, { status: queried.status, refundId: queried.refundId });
        },
      );
      if (queried) repairs++;
    }
  }

  // ---------------------------------------------------------------- ours paid, absent from the bills
  if (windowClosed) {
    const { from, to } = dayBounds(date);
    const window = [addDays(date, -1), date, addDays(date, 1)];
    const absent = await db
      .select({ attempt: paymentAttempts, orderStatus: orders.status })
      .from(paymentAttempts)
      .innerJoin(orders, eq(orders.id, paymentAttempts.orderId))
      .where(
        and(
          eq(paymentAttempts.status, 'paid'),
          gte(paymentAttempts.paidAt, from),
          lt(paymentAttempts.paidAt, to),
          sql`not exists (select 1 from ${billTradeRows} r where r.transaction_id = ${paymentAttempts.transactionId} and r.refund_id = '' and r.bill_date in (${sql.join(
            window.map((d) => sql`${d}`),
            sql`, `,
          )}))`,
        ),
      );
    for (const { attempt: a, orderStatus } of absent) {
      const key = a.transactionId ?? a.id;
      if (await findDiscrepancy(db, 'missing_in_bill', key)) continue;
      const t = await query(deps, a.outTradeNo);
      const confirmed = t !== null && (t.trade_state === 'SUCCESS' || t.trade_state === 'REFUND') && t.transaction_id === a.transactionId;
      const finding: Finding = {
        billDate: date,
        class: 'missing_in_bill',
        subjectKey: key,
        state: confirmed ? 'auto_resolved' : 'open',
        orderId: a.orderId,
        attemptId: a.id,
        outTradeNo: a.outTradeNo,
        transactionId: a.transactionId,
        ours: { attemptStatus: a.status, amountFen: a.amountFen, paidAt: a.paidAt?.toISOString() ?? null, paidVia: a.paidVia, orderStatus },
        bill: { found: false, window },
        proposedFix: confirmed ? 'none_wechat_confirms' : 'review_frozen_order',
        resolution: { action: 'queried', wechatState: t?.trade_state ?? 'ORDER_NOT_EXIST' },
      };
      await write(finding, async (tx) => {
        if (!confirmed) {
          // Paid here, unknown to WeChat's bill and its query: the payment may have been forged.
          await freeze(tx, a.orderId, a.id, 'missing_in_bill', { transactionId: a.transactionId, wechatState: t?.trade_state ?? null });
          await tx.insert(alerts).values({
            kind: 'security',
            orderId: a.orderId,
            message: `Order paid here (${a.outTradeNo}) is absent from WeChat's bills and its query: frozen for review`,
            data: { billDate: date, transactionId: a.transactionId },
          });
        }
      });
      if (confirmed) repairs++;
    }
  }
  return { status: windowClosed ? 'reconciled' : 'provisional', windowClosed, findings, repairs };
}

/** The order is held for a human: a real difference of money must not be settled by code. */
async function freeze(
  tx: Parameters<typeof transitionOrder>[0],
  orderId: string,
  attemptId: string,
  reason: string,
  data: Record<string, unknown>,
): Promise<void> {
  await transitionOrder(tx, {
    orderId,
    attemptId,
    to: 'review',
    from: ['paid', 'partially_refunded'],
    source: 'bill',
    event: 'order.review',
    patch: { reviewReason: 'reconciliation' },
    data: { reason, ...data },
  });
  await tx.insert(alerts).values({ kind: `reconciliation_${reason}`, orderId, message: `Reconciliation froze the order: ${reason}`, data });
}

/** WeChat's record of a trade, or null when it has none. */
export async function query(deps: PaymentDeps, outTradeNo: string): Promise<Transaction | null> {
  try {
    return await deps.gateway().client.queryByOutTradeNo(outTradeNo);
  } catch (err) {
    if (err instanceof WechatPayApiError && err.code === 'ORDER_NOT_EXIST') return null;
    throw err;
  }
}

/** Query, then the payment domain applies the answer with path `bill`. Returns its outcome. */
async function queryAndApply(deps: PaymentDeps, outTradeNo: string): Promise<string> {
  const t = await query(deps, outTradeNo);
  if (!t) return 'not_found';
  return deps.db.transaction(async (tx) => (await applyPaymentResult(tx, t, paymentContext(deps, 'bill'))).outcome);
}

async function queryRefund(deps: PaymentDeps, outRefundNo: string): Promise<{ status: string; refundId: string | null } | null> {
  try {
    const r = await deps.gateway().client.queryRefund(outRefundNo);
    return { status: r.status ?? 'PROCESSING', refundId: r.refund_id ?? null };
  } catch (err) {
    if (err instanceof WechatPayApiError && !err.retryable) return null;
    throw err;
  }
}
