// Refund money limits per role (single refund, Beijing-day total). Defaults in permissions.ts; a
// role_limits row overrides them. The refunds work calls `refundLimitsFor` before asking WeChat.
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { roleLimits } from '@/db/schema';
import { AppError } from '@/server/errors';
import { appendAudit, type AuditActor } from './audit';
import { DEFAULT_ROLE_LIMITS, ROLES, type Role } from './permissions';

export interface RefundLimits {
  singleRefundMaxFen: number | null;
  dailyRefundMaxFen: number | null;
}

export async function refundLimitsFor(db: DbOrTx, role: Role): Promise<RefundLimits> {
  const [row] = await db.select().from(roleLimits).where(eq(roleLimits.role, role));
  return row ? { singleRefundMaxFen: row.singleRefundMaxFen, dailyRefundMaxFen: row.dailyRefundMaxFen } : DEFAULT_ROLE_LIMITS[role];
}

export async function allRefundLimits(db: DbOrTx): Promise<Array<{ role: Role } & RefundLimits>> {
  const rows = await db.select().from(roleLimits);
  const byRole = new Map(rows.map((r) => [r.role, r]));
  return ROLES.map((role) => {
    const r = byRole.get(role);
    return { role, ...(r ? { singleRefundMaxFen: r.singleRefundMaxFen, dailyRefundMaxFen: r.dailyRefundMaxFen } : DEFAULT_ROLE_LIMITS[role]) };
  });
}

/**
 * Only owners set the limits of owners and admins: an admin raising the admin limit would lift their own.
 * A single refund above the daily total could never be made, so that is refused as a mistake.
 */
export async function setRefundLimits(db: DbOrTx, actor: AuditActor, role: Role, limits: RefundLimits, reason: string | null): Promise<void> {
  if (actor.role !== 'owner' && (role === 'owner' || role === 'admin')) throw new AppError('BAD_REQUEST', 'LIMITS_OWNER_ONLY');
  if (limits.singleRefundMaxFen !== null && limits.dailyRefundMaxFen !== null && limits.singleRefundMaxFen > limits.dailyRefundMaxFen) {
    throw new AppError('BAD_REQUEST', 'LIMITS_SINGLE_ABOVE_DAILY');
  }
  await db.transaction(async (tx) => {
    const before = await refundLimitsFor(tx, role);
    await tx
      .insert(roleLimits)
      .values({ role, ...limits, updatedAt: new Date() })
      .onConflictDoUpdate({ target: roleLimits.role, set: { ...limits, updatedAt: new Date() } });
    await appendAudit(tx, actor, { action: 'role.limits_change', objectType: 'role', objectId: role, before, after: limits, reason });
  });
}
