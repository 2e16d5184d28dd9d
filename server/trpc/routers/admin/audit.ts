import { z } from 'zod';
import { listAudit, verifyAuditChain } from '@/server/auth/audit';
import { adminProcedure } from '../../admin';
import { router } from '../../init';

export const adminAuditRouter = router({
  list: adminProcedure('audit:view')
    .input(
      z.object({
        actor: z.string().trim().max(200).optional(),
        action: z.string().trim().max(100).optional(),
        objectType: z.string().trim().max(50).optional(),
        objectId: z.string().trim().max(100).optional(),
        from: z.date().optional(),
        to: z.date().optional(),
        before: z.number().int().positive().optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => listAudit(ctx.db, input)),
  verify: adminProcedure('audit:view').query(({ ctx }) => verifyAuditChain(ctx.db)),
});
