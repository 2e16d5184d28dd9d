import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../_lib/require';
import { Forbidden } from './forbidden';
import { DashboardView } from './_dashboard/dashboard-view';

export default async function ConsoleHome() {
  const { session, allowed } = await requireAdmin('orders:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  const role = session.user.role;
  return <DashboardView showDelivery={can(role, 'webhooks:view')} showReconciliation={can(role, 'reconciliation:view')} />;
}
