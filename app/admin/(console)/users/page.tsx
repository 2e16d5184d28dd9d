import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { UsersView } from './users-view';

export default async function UsersPage() {
  const { session, allowed } = await requireAdmin('users:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  return <UsersView canManage={can(session.user.role, 'users:manage')} myId={session.user.id} />;
}
