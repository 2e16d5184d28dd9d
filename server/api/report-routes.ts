// The API's read-only reports: daily statistics (server/stats) and the reconciled day (server/reconciliation).
// Each route reads its domain's own view; the figures are computed there, never here.
import { z } from 'zod';
import { DISCREPANCY_CLASSES, DISCREPANCY_STATES } from '@/server/reconciliation/classes';
import { billDateSchema } from '@/server/reconciliation/days';
import { reconciliationDay } from '@/server/reconciliation/report';
import { dailyRangeProblem, dailyStats } from '@/server/stats/daily';
import { ApiError } from './errors';
import { defineRoute } from './route';

const fen = z.number().int();
const count = z.number().int().nonnegative();

const StatsDailyQuery = z
  .object({
    from: z.iso.date('must be a calendar date, YYYY-MM-DD').meta({ description: 'First Beijing (Asia/Shanghai) day, included.' }),
    to: z.iso.date('must be a calendar date, YYYY-MM-DD').meta({ description: 'Last Beijing day, included; at most 366 days after from.' }),
  })
  .strict()
  .superRefine((r, ctx) => {
    const problem = dailyRangeProblem(r.from, r.to);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['to'] });
  });

const DailyStat = z
  .object({
    date: z.iso.date().meta({ description: 'The Beijing day.' }),
    paidCount: count.meta({ description: 'Payments whose WeChat success time falls on the day (late second payments included).' }),
    grossFen: fen,
    refundCount: count.meta({ description: 'Refunds that succeeded on the day.' }),
    refundFen: fen,
    netFen: fen.meta({ description: 'grossFen − refundFen − feesFen.' }),
    feesFen: fen.meta({ description: "WeChat's billed fees once the day's bill is imported; until then our estimate." }),
    learnedVia: z
      .object({ notify: count, query: count, shopper: count, bill: count })
      .meta({ description: 'How each payment first reached us: notification, our active query, the shopper\'s "I have paid", the bill.' }),
  })
  .meta({ id: 'DailyStat' });
const DailyStats = z.array(DailyStat).meta({ id: 'DailyStats', description: 'One entry per day of the range, oldest first; zeros for a quiet day.' });

const DayParams = z.object({ date: billDateSchema.meta({ description: 'A Beijing day, YYYY-MM-DD.' }) });

const Discrepancy = z
  .object({
    id: z.uuid(),
    class: z.enum(DISCREPANCY_CLASSES),
    state: z.enum(DISCREPANCY_STATES),
    orderId: z.uuid().nullable(),
    outTradeNo: z.string().nullable(),
    transactionId: z.string().nullable(),
    outRefundNo: z.string().nullable(),
    proposedFix: z.string(),
    ours: z.record(z.string(), z.unknown()).meta({ description: 'Our side, as it was when found.' }),
    bill: z.record(z.string(), z.unknown()).meta({ description: "The bill's side, as it was when found." }),
    resolution: z.record(z.string(), z.unknown()).nullable().meta({ description: 'What the automatic repair or the person did.' }),
  })
  .meta({ id: 'Discrepancy' });

const ReconciliationDay = z
  .object({
    date: z.iso.date(),
    status: z.enum(['pending', 'provisional', 'reconciled', 'failed']).meta({
      description:
        "pending: the day's trade bill is not in yet; provisional: matched, the next day's bill (the window) not in yet; reconciled; failed: a bill could not be read.",
    }),
    matchedPercent: z.number().nullable().meta({ description: 'Share of bill rows matched to ours; null until the trade bill is in.' }),
    discrepancies: z.array(Discrepancy).meta({ description: 'Every discrepancy of the day, newest first, whatever its state.' }),
    settlement: z
      .object({
        grossFen: fen.meta({ description: '订单金额' }),
        settlementGrossFen: fen.meta({ description: '应结订单金额 (gross less coupons)' }),
        refundsFen: fen,
        feesFen: fen,
        feeRefundsFen: fen,
        netFen: fen.meta({ description: 'settlementGrossFen − refundsFen − feesFen + feeRefundsFen.' }),
      })
      .meta({ description: "From WeChat's trade bill; zeros until it is in." }),
  })
  .meta({ id: 'ReconciliationDay' });

export const REPORT_ROUTES = [
  defineRoute({
    method: 'GET',
    path: '/stats/daily',
    operationId: 'getDailyStats',
    summary: 'Daily figures per Beijing day: payments, refunds, fees, net, and how payments were learned',
    tag: 'Reports',
    scope: 'orders:read',
    query: StatsDailyQuery,
    success: { status: 200, schema: DailyStats, description: 'One entry per day from `from` to `to`.' },
    errors: ['invalid_request'],
    handle: ({ deps, query }) => dailyStats(deps.db, query.from, query.to),
  }),
  defineRoute({
    method: 'GET',
    path: '/reconciliation/days/{date}',
    operationId: 'getReconciliationDay',
    summary: "A day's reconciliation against WeChat's bills: status, matched share, discrepancies, settlement",
    tag: 'Reports',
    scope: 'orders:read',
    params: DayParams,
    success: { status: 200, schema: ReconciliationDay, description: 'The day as last reconciled.' },
    errors: ['invalid_request', 'not_found'],
    handle: async ({ deps, params }) => {
      const day = await reconciliationDay(deps.db, params.date);
      if (!day) throw new ApiError('not_found', `${params.date} has not been reconciled (yet): the daily run reconciles yesterday after 10:15 Beijing time.`);
      return day;
    },
  }),
];
