// Server-side gate for console pages: signed in, 2FA enrolled when the role needs it, and the page's permission.
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { processDeps } from '@/server/deps';
import { can, type Permission } from '@/server/auth/permissions';
import { getAdminSession, type AdminSession } from '@/server/auth/session';

export async function requireAdmin(permission?: Permission): Promise<{ session: AdminSession; allowed: boolean }> {
  const session = await getAdminSession(processDeps().db, await headers());
  if (!session) redirect('/admin/sign-in');
  if (session.mustEnrolTwoFactor) redirect('/admin/enrol');
  return { session, allowed: permission ? can(session.user.role, permission) : true };
}
