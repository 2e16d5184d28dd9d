// Download of a finished CSV export: the caller's own, signed in with the permission its kind needs
// (orders:view, audit:view), before the link expires.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { processDeps } from '@/server/deps';
import { appendAudit } from '@/server/auth/audit';
import { can } from '@/server/auth/permissions';
import { auditActor, getAdminSession } from '@/server/auth/session';
import { downloadableExport, EXPORT_PERMISSION, type ExportKind, getExport } from '@/server/console/exports';
import { loadEnv } from '@/server/env';
import { AppError } from '@/server/errors';

export const dynamic = 'force-dynamic';

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const db = processDeps().db;
  const session = await getAdminSession(db, req.headers);
  if (!session || session.mustEnrolTwoFactor) return new Response('Sign in to continue.', { status: 401 });
  if (!can(session.user.role, 'orders:view')) return new Response('Your role does not allow this.', { status: 403 });
  const { id } = await params;
  if (!/^[0-9a-f-]{36}$/i.test(id)) return new Response('Not found', { status: 404 });
  const row = await getExport(db, id, session.user.id);
  const kind = (row?.kind ?? 'orders') as ExportKind;
  if (!can(session.user.role, EXPORT_PERMISSION[kind] ?? 'audit:view')) return new Response('Your role does not allow this.', { status: 403 });
  let file: string;
  try {
    file = await downloadableExport(db, id, session.user.id, loadEnv().DATA_DIR);
  } catch (err) {
    if (err instanceof AppError) return new Response(err.message, { status: err.httpStatus });
    throw err;
  }
  await appendAudit(db, auditActor(session), { action: 'export.download', objectType: 'export', objectId: id });
  return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${kind === 'audit' ? 'audit-log' : 'orders'}-${id}.csv"`,
      'cache-control': 'no-store',
    },
  });
}
