import { z } from 'zod';
import { listAudit, verifyAuditChain } from '@/server/auth/audit';
import { auditActor } from '@/server/auth/session';
import { AuditFilterSchema, auditQuery } from '@/server/console/audit-log';
import { requestAuditExport } from '@/server/console/exports';
import { adminProcedure, sensitiveProcedure } from '../../admin';
import { router } from '../../init';

export const adminAuditRouter = router({
  list: adminProcedure('audit:view')
    .input(
      z.object({
        filter: AuditFilterSchema.default({}),
        before: z.number().int().positive().optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => listAudit(ctx.db, { ...auditQuery(input.filter), before: input.before, limit: input.limit })),
  verify: adminProcedure('audit:view').query(({ ctx }) => verifyAuditChain(ctx.db)),
  /** CSV of the filtered log, by the console.export job; bulk export is sensitive (step-up). */
  export: sensitiveProcedure('audit:view')
    .input(z.object({ filter: AuditFilterSchema }))
    .mutation(({ ctx, input }) => requestAuditExport(ctx.db, auditActor(ctx.admin), input.filter)),
});
