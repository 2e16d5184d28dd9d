import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { LimitsView } from './limits-view';

export default async function LimitsPage() {
  const { session, allowed } = await requireAdmin('refunds:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  const role = session.user.role;
  return <LimitsView canManage={can(role, 'users:manage')} isOwner={role === 'owner'} />;
}
