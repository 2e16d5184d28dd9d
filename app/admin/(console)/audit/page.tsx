import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { AuditView } from './audit-view';

export default async function AuditPage() {
  const { session, allowed } = await requireAdmin('audit:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  return <AuditView />;
}
