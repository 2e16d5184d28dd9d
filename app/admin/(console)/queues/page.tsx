import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { QueuesView } from './queues-view';

export default async function QueuesPage() {
  const { session, allowed } = await requireAdmin('queues:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  return <QueuesView canManage={can(session.user.role, 'queues:manage')} />;
}
