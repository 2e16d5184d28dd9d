import { z } from 'zod';
import { allRefundLimits, setRefundLimits } from '@/server/auth/limits';
import { RoleSchema } from '@/server/auth/permissions';
import { auditActor } from '@/server/auth/session';
import { changeRole, createAdminUser, listSessions, listUsers, revokeSession, setActive } from '@/server/auth/users';
import { adminProcedure, sensitiveProcedure } from '../../admin';
import { router } from '../../init';

const reason = z.string().trim().max(500).optional();
const fen = z.number().int().min(0).max(1_000_000_000).nullable();

export const adminUsersRouter = router({
  list: adminProcedure('users:view').query(({ ctx }) => listUsers(ctx.db)),
  create: sensitiveProcedure('users:manage')
    .input(z.object({ email: z.email().max(200), name: z.string().trim().max(100).optional(), role: RoleSchema, password: z.string().min(12).max(200) }))
    .mutation(({ ctx, input }) => createAdminUser(ctx.db, auditActor(ctx.admin), input)),
  changeRole: sensitiveProcedure('users:manage')
    .input(z.object({ userId: z.string().min(1).max(100), role: RoleSchema, reason }))
    .mutation(({ ctx, input }) => changeRole(ctx.db, auditActor(ctx.admin), input.userId, input.role, input.reason ?? null)),
  setActive: sensitiveProcedure('users:manage')
    .input(z.object({ userId: z.string().min(1).max(100), active: z.boolean(), reason }))
    .mutation(({ ctx, input }) => setActive(ctx.db, auditActor(ctx.admin), input.userId, input.active, input.reason ?? null)),
  /** Everyone's sessions (never their tokens). */
  sessions: adminProcedure('users:view').query(({ ctx }) => listSessions(ctx.db)),
  revokeSession: adminProcedure('users:manage')
    .input(z.object({ sessionId: z.string().min(1).max(100) }))
    .mutation(({ ctx, input }) => revokeSession(ctx.db, auditActor(ctx.admin), input.sessionId, null)),
  limits: adminProcedure('refunds:view').query(({ ctx }) => allRefundLimits(ctx.db)),
  setLimits: sensitiveProcedure('users:manage')
    .input(z.object({ role: RoleSchema, singleRefundMaxFen: fen, dailyRefundMaxFen: fen, reason: z.string().trim().min(1, 'REASON_REQUIRED').max(500) }))
    .mutation(({ ctx, input }) =>
      setRefundLimits(
        ctx.db,
        auditActor(ctx.admin),
        input.role,
        { singleRefundMaxFen: input.singleRefundMaxFen, dailyRefundMaxFen: input.dailyRefundMaxFen },
        input.reason,
      ),
    ),
});
