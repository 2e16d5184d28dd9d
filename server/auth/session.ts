// The signed-in console user for a request, with our policy on top of better-auth's session: the
// 12-hour absolute limit, deactivated users, forced 2FA enrolment, and how fresh the last proof is.
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { authSessions, authStepUps, authUsers } from '@/db/schema';
import { loadEnv } from '@/server/env';
import { getAuth } from './auth';
import { requiresTwoFactor, type Role } from './permissions';
import { requestMeta } from './request-meta';
import type { AuditActor } from './audit';

export interface AdminSession {
  user: { id: string; email: string; name: string; role: Role; twoFactorEnabled: boolean };
  session: { id: string; createdAt: Date; expiresAt: Date };
  /** A role that must have TOTP and has not enrolled yet: only enrolment (and sign-out) is allowed. */
  mustEnrolTwoFactor: boolean;
  /** When the session last proved a password or TOTP (sign-in counts). */
  stepUpAt: Date | null;
  stepUpFresh: boolean;
  ip: string | null;
  userAgent: string | null;
}

/**
 * `resHeaders`: where to put the refreshed session cookie (the idle limit slides only if the browser
 * gets the new expiry); server components cannot set cookies and pass none — the next API call does it.
 */
export async function getAdminSession(db: Db, headers: Headers, resHeaders?: Headers, now = new Date()): Promise<AdminSession | null> {
  const env = loadEnv();
  const { headers: setHeaders, response: found } = await getAuth(db, env).api.getSession({ headers, returnHeaders: true });
  if (resHeaders) for (const cookie of setHeaders?.getSetCookie() ?? []) resHeaders.append('set-cookie', cookie);
  if (!found) return null;
  const { session } = found;
  if (now.getTime() - new Date(session.createdAt).getTime() > env.ADMIN_SESSION_MAX_HOURS * 3_600_000) {
    await db.delete(authSessions).where(eq(authSessions.id, session.id));
    return null;
  }
  const [u] = await db
    .select({
      id: authUsers.id,
      email: authUsers.email,
      name: authUsers.name,
      role: authUsers.role,
      active: authUsers.active,
      twoFactorEnabled: authUsers.twoFactorEnabled,
    })
    .from(authUsers)
    .where(eq(authUsers.id, session.userId));
  if (!u?.active) return null;
  const [step] = await db.select({ at: authStepUps.at }).from(authStepUps).where(eq(authStepUps.sessionId, session.id));
  const stepUpAt = step?.at ?? null;
  const meta = requestMeta(headers);
  const twoFactorEnabled = Boolean(u.twoFactorEnabled);
  return {
    user: { id: u.id, email: u.email, name: u.name, role: u.role, twoFactorEnabled },
    session: { id: session.id, createdAt: new Date(session.createdAt), expiresAt: new Date(session.expiresAt) },
    mustEnrolTwoFactor: requiresTwoFactor(u.role) && !twoFactorEnabled,
    stepUpAt,
    stepUpFresh: stepUpAt !== null && now.getTime() - stepUpAt.getTime() <= env.ADMIN_STEP_UP_MINUTES * 60_000,
    ip: meta.ip,
    userAgent: meta.userAgent,
  };
}

export function auditActor(s: AdminSession): AuditActor {
  return { id: s.user.id, email: s.user.email, role: s.user.role, ip: s.ip, userAgent: s.userAgent, twoFactorFresh: s.stepUpFresh };
}
