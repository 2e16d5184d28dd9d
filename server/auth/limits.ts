// Refund money limits per role (single refund, Beijing-day total). Defaults in permissions.ts; a
// role_limits row overrides them. The refunds work calls `refundLimitsFor` before asking WeChat.
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { roleLimits } from '@/db/schema';
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

export async function setRefundLimits(db: DbOrTx, actor: AuditActor, role: Role, limits: RefundLimits, reason: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await refundLimitsFor(tx, role);
    await tx
      .insert(roleLimits)
      .values({ role, ...limits, updatedAt: new Date() })
      .onConflictDoUpdate({ target: roleLimits.role, set: { ...limits, updatedAt: new Date() } });
    await appendAudit(tx, actor, { action: 'role.limits_change', objectType: 'role', objectId: role, before, after: limits, reason });
  });
}
