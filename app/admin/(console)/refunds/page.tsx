import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { RefundsView } from './refunds-view';

export default async function RefundsPage() {
  const { session, allowed } = await requireAdmin('refunds:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  return <RefundsView canManage={can(session.user.role, 'refunds:manage')} />;
}
