// Console refunds: thin over server/refunds. Permissions here are the gate (refunds:view / refunds:manage);
// the domain checks the rest (money limits, maker-checker, step-up for large amounts) for every transport.
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { auditActor } from '@/server/auth/session';
import { listRefunds, REFUND_INBOXES, refundDialogFigures } from '@/server/refunds/console';
import { RefundError } from '@/server/refunds/errors';
import { decideRefund, reapplyClosedRefund, requestRefund } from '@/server/refunds/request';
import { resolveAbnormalRefund } from '@/server/refunds/abnormal';
import { ABNORMAL_REFUND_BANK_TYPES } from '@/server/wechatpay/schemas';
import { adminProcedure, sensitiveProcedure } from '../../admin';
import { router } from '../../init';

/** A refused refund reaches the browser as its rule (translated there); step-up as the console's usual signal. */
async function refundCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RefundError) {
      if (err.rule === 'STEP_UP_REQUIRED') throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'STEP_UP_REQUIRED' });
      // No `cause`: the AppError middleware would put the English message back in place of the rule.
      throw new TRPCError({ code: err.code === 'NOT_FOUND' ? 'NOT_FOUND' : err.code === 'CONFLICT' ? 'CONFLICT' : 'BAD_REQUEST', message: err.rule });
    }
    throw err;
  }
}

export const adminRefundsRouter = router({
  figures: adminProcedure('refunds:view')
    .input(z.object({ orderId: z.uuid() }))
    .query(({ ctx, input }) => refundDialogFigures(ctx.db, input.orderId, ctx.deps.clock.now())),
  list: adminProcedure('refunds:view')
    .input(z.object({ inbox: z.enum(REFUND_INBOXES).default('all'), limit: z.number().int().min(1).max(200).default(100) }))
    .query(({ ctx, input }) => listRefunds(ctx.db, input, ctx.deps.clock.now())),
  request: adminProcedure('refunds:manage')
    .input(
      z.object({
        orderId: z.uuid(),
        amountFen: z.number().int().min(1),
        reason: z.string().max(200),
        /** One per opening of the dialog: a double click or a retried request is the same refund. */
        idempotencyKey: z.string().min(8).max(100),
      }),
    )
    .mutation(({ ctx, input }) =>
      refundCall(async () => {
        const { refund, created } = await requestRefund(ctx.db, ctx.deps, {
          orderId: input.orderId,
          amountFen: input.amountFen,
          reason: input.reason,
          actor: auditActor(ctx.admin),
          initiatedBy: 'merchant',
          idempotencyKey: `console:${ctx.admin.user.id}:${input.idempotencyKey}`,
        });
        return { id: refund.id, status: refund.status, outRefundNo: refund.outRefundNo, created };
      }),
    ),
  decide: adminProcedure('refunds:manage')
    .input(z.object({ refundId: z.uuid(), approve: z.boolean(), note: z.string().max(200).optional() }))
    .mutation(({ ctx, input }) =>
      refundCall(async () => {
        const r = await decideRefund(ctx.db, ctx.deps, {
          refundId: input.refundId,
          approve: input.approve,
          note: input.note ?? null,
          actor: auditActor(ctx.admin),
        });
        return { id: r.id, status: r.status };
      }),
    ),
  reapply: adminProcedure('refunds:manage')
    .input(z.object({ refundId: z.uuid() }))
    .mutation(({ ctx, input }) =>
      refundCall(async () => {
        const r = await reapplyClosedRefund(ctx.db, ctx.deps, { refundId: input.refundId, actor: auditActor(ctx.admin) });
        return { id: r.id, status: r.status, outRefundNo: r.outRefundNo };
      }),
    ),
  // Sends money to an account typed by a person: always behind a fresh step-up.
  resolveAbnormal: sensitiveProcedure('refunds:manage')
    .input(
      z.object({
        refundId: z.uuid(),
        resolution: z.discriminatedUnion('type', [
          z.object({
            type: z.literal('USER_BANK_CARD'),
            bankType: z.enum(ABNORMAL_REFUND_BANK_TYPES),
            bankAccount: z.string().regex(/^\d{12,30}$/),
            realName: z.string().trim().min(1).max(50),
          }),
          z.object({ type: z.literal('MERCHANT_BANK_CARD') }),
          z.object({ type: z.literal('MERCHANT_PLATFORM') }),
        ]),
      }),
    )
    .mutation(({ ctx, input }) =>
      refundCall(async () => {
        const r = await resolveAbnormalRefund(
          ctx.db,
          { env: ctx.deps.env, clock: ctx.deps.clock, gateway: ctx.deps.gateway() },
          { refundId: input.refundId, actor: auditActor(ctx.admin), resolution: input.resolution },
        );
        return { id: r.id, status: r.status, abnormalResolution: r.abnormalResolution };
      }),
    ),
});
