import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { AlertsView } from './alerts-view';

export default async function AlertsPage() {
  const { session, allowed } = await requireAdmin('alerts:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  return <AlertsView canManage={can(session.user.role, 'alerts:manage')} canConfigure={can(session.user.role, 'queues:manage')} />;
}
