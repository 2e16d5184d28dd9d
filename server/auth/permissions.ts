// Roles and permissions of the merchant console: one statement list shared by the server (every admin
// procedure declares the permission it needs, server/trpc/admin.ts) and the UI (which hides what a role
// cannot do — hiding is a courtesy, the server check is the rule).
import { z } from 'zod';

export const ROLES = ['owner', 'admin', 'finance', 'support', 'developer', 'viewer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = z.enum(ROLES);

export const RESOURCES = ['orders', 'refunds', 'products', 'users', 'keys', 'webhooks', 'reconciliation', 'queues', 'alerts', 'audit'] as const;
export type Resource = (typeof RESOURCES)[number];
export type Action = 'view' | 'manage';
export type Permission = `${Resource}:${Action}`;

// Nobody manages the audit log: it can only be appended to, by the server.
const all = (action: Action) => RESOURCES.filter((r) => action === 'view' || r !== 'audit').map((r) => `${r}:${action}` as Permission);
const view = (...resources: Resource[]) => resources.map((r) => `${r}:view` as Permission);
const manage = (...resources: Resource[]) => resources.flatMap((r) => [`${r}:view`, `${r}:manage`] as Permission[]);

/** `manage` implies `view` (listed explicitly so the table reads as the truth). */
export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set([...all('view'), ...all('manage')]),
  // Like owner, except that only owners may make or unmake owners (server/auth/users.ts) and admins have money limits.
  admin: new Set([...all('view'), ...all('manage')]),
  finance: new Set([...manage('orders', 'refunds', 'reconciliation', 'alerts'), ...view('products', 'webhooks', 'queues')]),
  support: new Set([...manage('orders', 'alerts'), ...view('refunds', 'products', 'webhooks')]),
  developer: new Set([...manage('keys', 'webhooks', 'queues', 'alerts'), ...view('orders', 'refunds', 'products', 'reconciliation')]),
  viewer: new Set(view('orders', 'refunds', 'products', 'reconciliation', 'alerts')),
  auditor: new Set(all('view')),
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/**
 * Roles whose members may approve (or reject) someone else's refund waiting for a second person
 * (maker-checker); never their own, whatever the role (server/refunds/request.ts).
 */
export const REFUND_APPROVER_ROLES: ReadonlySet<Role> = new Set(['owner', 'admin', 'finance']);
export const canApproveRefunds = (role: Role) => REFUND_APPROVER_ROLES.has(role);

/** Roles that move money or manage keys must have TOTP: enrolment is forced at their first sign-in. */
export const TWO_FACTOR_REQUIRED: ReadonlySet<Role> = new Set(['owner', 'admin', 'finance', 'developer']);
export const requiresTwoFactor = (role: Role) => TWO_FACTOR_REQUIRED.has(role);

/** Who sees payer ids (openid) in full; everyone else sees them masked. */
export function seesFullPayerId(role: Role): boolean {
  return role !== 'viewer';
}

/** `oUpF8uMuAJO_M2pxb1Q9zNjWeS6o` → `oUpF…eS6o`. */
export function maskOpenid(openid: string | null | undefined): string | null {
  if (!openid) return null;
  if (openid.length <= 8) return '••••';
  return `${openid.slice(0, 4)}…${openid.slice(-4)}`;
}

/** Default refund limits per role in fen (role_limits rows override; null = unlimited, 0 = may not refund). */
export const DEFAULT_ROLE_LIMITS: Record<Role, { singleRefundMaxFen: number | null; dailyRefundMaxFen: number | null }> = {
  owner: { singleRefundMaxFen: null, dailyRefundMaxFen: null },
  admin: { singleRefundMaxFen: 5_000_00, dailyRefundMaxFen: 50_000_00 },
  finance: { singleRefundMaxFen: 2_000_00, dailyRefundMaxFen: 20_000_00 },
  support: { singleRefundMaxFen: 0, dailyRefundMaxFen: 0 },
  developer: { singleRefundMaxFen: 0, dailyRefundMaxFen: 0 },
  viewer: { singleRefundMaxFen: 0, dailyRefundMaxFen: 0 },
  auditor: { singleRefundMaxFen: 0, dailyRefundMaxFen: 0 },
};
