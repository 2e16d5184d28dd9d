// pg-boss's own dashboard (@pg-boss/dashboard) for the raw view, mounted behind our sign-in: reading needs
// queues:view, any action (retry, cancel, delete from its UI) queues:manage and is audited. It gets its
// own CSP in proxy.ts (its React Router scripts carry no nonce).
import { createDashboardHandler, type DashboardHandler } from '@pg-boss/dashboard/handler';
import { appendAudit } from '@/server/auth/audit';
import { can } from '@/server/auth/permissions';
import { auditActor, getAdminSession } from '@/server/auth/session';
import { processDeps } from '@/server/deps';

export const dynamic = 'force-dynamic';

function handler(): DashboardHandler {
  const g = globalThis as unknown as { __scanpayPgbossDashboard?: DashboardHandler };
  const { env } = processDeps();
  g.__scanpayPgbossDashboard ??= createDashboardHandler({
    databases: [{ url: env.DATABASE_URL!, name: 'scanpay', schema: 'pgboss' }],
    basePath: '/admin/pgboss',
    allowedActionOrigins: [new URL(env.appUrl).host],
  });
  return g.__scanpayPgbossDashboard;
}

async function serve(request: Request): Promise<Response> {
  const { db } = processDeps();
  const admin = await getAdminSession(db, request.headers);
  if (!admin || admin.mustEnrolTwoFactor) return Response.redirect(new URL('/admin/sign-in', request.url), 303);
  const writes = request.method !== 'GET' && request.method !== 'HEAD';
  if (!can(admin.user.role, writes ? 'queues:manage' : 'queues:view')) return new Response('forbidden', { status: 403 });
  if (writes)
    await appendAudit(db, auditActor(admin), { action: 'queue.pgboss_dashboard.action', objectType: 'pgboss', objectId: new URL(request.url).pathname });
  return handler()(request);
}

export const GET = serve;
export const POST = serve;
