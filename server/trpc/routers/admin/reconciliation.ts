// The reconciliation console: the inbox, people's decisions (reason required, audited), the daily and
// monthly settlement reports, manual runs with progress. Finance and above manage; viewers read.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { auditActor } from '@/server/auth/session';
import { AppError } from '@/server/errors';
import { billDateSchema } from '@/server/reconciliation/days';
import { decideDiscrepancy } from '@/server/reconciliation/discrepancies';
import { forcePostDiscrepancy } from '@/server/reconciliation/force-post';
import { InboxFilterSchema, listDiscrepancies, monthCsv, MonthSchema, monthReport } from '@/server/reconciliation/inbox';
import { getRun, startRun } from '@/server/reconciliation/pipeline';
import { dayDetail } from '@/server/reconciliation/report';
import { adminProcedure, sensitiveProcedure } from '../../admin';
import { router } from '../../init';

const asTrpc = (err: unknown): never => {
  if (err instanceof AppError)
    throw new TRPCError({ code: err.code === 'NOT_FOUND' ? 'NOT_FOUND' : err.code === 'CONFLICT' ? 'CONFLICT' : 'BAD_REQUEST', message: err.message });
  throw err;
};

export const adminReconciliationRouter = router({
  inbox: adminProcedure('reconciliation:view')
    .input(InboxFilterSchema)
    .query(({ ctx, input }) => listDiscrepancies(ctx.db, input)),
  decide: adminProcedure('reconciliation:manage')
    .input(z.object({ id: z.uuid(), action: z.enum(['received', 'ignore']), reason: z.string().trim().min(3).max(500) }))
    .mutation(({ ctx, input }) => decideDiscrepancy(ctx.db, auditActor(ctx.admin), input).catch(asTrpc)),
  // Books a payment in the ledger (an order rebuilt from WeChat's query): money-moving, so a fresh step-up.
  forcePost: sensitiveProcedure('reconciliation:manage')
    .input(z.object({ id: z.uuid(), reason: z.string().trim().min(3).max(500) }))
    .mutation(({ ctx, input }) => forcePostDiscrepancy(ctx.deps, auditActor(ctx.admin), input).catch(asTrpc)),
  day: adminProcedure('reconciliation:view')
    .input(z.object({ date: billDateSchema }))
    .query(({ ctx, input }) => dayDetail(ctx.db, input.date)),
  month: adminProcedure('reconciliation:view')
    .input(z.object({ month: MonthSchema }))
    .query(async ({ ctx, input }) => {
      const days = await monthReport(ctx.db, input.month);
      return { days, csv: monthCsv(days) };
    }),
  startRun: adminProcedure('reconciliation:manage')
    .input(z.object({ from: billDateSchema, to: billDateSchema }))
    .mutation(({ ctx, input }) => startRun(ctx.deps, auditActor(ctx.admin), input).catch(asTrpc)),
  run: adminProcedure('reconciliation:view')
    .input(z.object({ id: z.uuid() }))
    .query(async ({ ctx, input }) => {
      const run = await getRun(ctx.db, input.id);
      if (!run) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such run.' });
      return run;
    }),
});
