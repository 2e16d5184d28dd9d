// The console's procedures: each declares the permission it needs (`adminProcedure('orders:view')`), and
// one middleware checks it on the server before anything else runs — before input parsing, so a role
// without the permission gets 403 whatever it sends. 'self' procedures (my profile, my sessions, step-up,
// 2FA enrolment status) need only a signed-in user.
import { TRPCError } from '@trpc/server';
import { can, type Permission } from '@/server/auth/permissions';
import { getAdminSession, type AdminSession } from '@/server/auth/session';
import { requireFreshStepUp } from '@/server/auth/step-up';
import { middleware, publicProcedure } from './init';

export type AdminPermission = Permission | 'self';

const authorise = middleware(async ({ ctx, meta, next }) => {
  const permission = meta?.permission;
  if (!permission) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'admin procedure without a declared permission' });
  const admin = ctx.headers ? await getAdminSession(ctx.db, ctx.headers, ctx.resHeaders) : null;
  if (!admin) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to continue.' });
  if (admin.mustEnrolTwoFactor && permission !== 'self') {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Set up two-factor authentication first.', cause: new Error('TWO_FACTOR_ENROLMENT_REQUIRED') });
  }
  if (permission !== 'self' && !can(admin.user.role, permission)) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Your role does not allow this.' });
  }
  return next({ ctx: { ...ctx, admin, headers: ctx.headers! } });
});

export function adminProcedure(permission: AdminPermission) {
  return publicProcedure.meta({ permission }).use(authorise);
}

/** For sensitive actions: also requires a password/TOTP proof within ADMIN_STEP_UP_MINUTES. */
export function sensitiveProcedure(permission: AdminPermission) {
  return adminProcedure(permission).use(({ ctx, next }) => {
    try {
      requireFreshStepUp(ctx.admin as AdminSession);
    } catch {
      throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'STEP_UP_REQUIRED' });
    }
    return next();
  });
}
