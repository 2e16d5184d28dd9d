import { z } from 'zod';
import { ROLE_PERMISSIONS } from '@/server/auth/permissions';
import { auditActor } from '@/server/auth/session';
import { stepUp } from '@/server/auth/step-up';
import { listSessions, revokeSession } from '@/server/auth/users';
import { adminProcedure } from '../../admin';
import { router } from '../../init';

export const meRouter = router({
  get: adminProcedure('self').query(({ ctx }) => ({
    user: ctx.admin.user,
    mustEnrolTwoFactor: ctx.admin.mustEnrolTwoFactor,
    stepUpFresh: ctx.admin.stepUpFresh,
    sessionCreatedAt: ctx.admin.session.createdAt,
    permissions: [...ROLE_PERMISSIONS[ctx.admin.user.role]],
  })),
  sessions: adminProcedure('self').query(async ({ ctx }) =>
    (await listSessions(ctx.db, ctx.admin.user.id)).map((s) => ({ ...s, current: s.id === ctx.admin.session.id })),
  ),
  revokeSession: adminProcedure('self')
    .input(z.object({ sessionId: z.string().min(1).max(100) }))
    .mutation(({ ctx, input }) => revokeSession(ctx.db, auditActor(ctx.admin), input.sessionId, ctx.admin.user.id)),
  stepUp: adminProcedure('self')
    .input(z.union([z.object({ password: z.string().min(1).max(200) }), z.object({ code: z.string().regex(/^\d{6}$/) })]))
    .mutation(({ ctx, input }) => stepUp(ctx.db, ctx.admin, ctx.headers, input)),
});
