import { can } from '@/server/auth/permissions';
import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { DevelopersView } from './developers-view';

export default async function DevelopersPage() {
  const { session, allowed } = await requireAdmin();
  const role = session.user.role;
  if (!allowed || !(can(role, 'keys:view') || can(role, 'webhooks:view'))) return <Forbidden role={role} />;
  return (
    <DevelopersView
      canViewKeys={can(role, 'keys:view')}
      canManageKeys={can(role, 'keys:manage')}
      canViewWebhooks={can(role, 'webhooks:view')}
      canManageWebhooks={can(role, 'webhooks:manage')}
    />
  );
}
