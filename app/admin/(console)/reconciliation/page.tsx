import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { ReconciliationView } from './reconciliation-view';

export default async function ReconciliationPage() {
  const { session, allowed } = await requireAdmin('reconciliation:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  return <ReconciliationView canManage={can(session.user.role, 'reconciliation:manage')} />;
}
