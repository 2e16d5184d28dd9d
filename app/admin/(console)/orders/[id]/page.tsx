import { can } from '@/server/auth/permissions';
import { loadEnv } from '@/server/env';
import { requireAdmin } from '../../../_lib/require';
import { Forbidden } from '../../forbidden';
import { OrderView } from './order-view';

export default async function OrderPage({ params }: { params: Promise<{ id: string }> }) {
  const { session, allowed } = await requireAdmin('orders:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  const { id } = await params;
  return (
    <OrderView
      id={id}
      canSync={can(session.user.role, 'orders:manage')}
      canRefund={can(session.user.role, 'refunds:manage')}
      approvalThresholdFen={loadEnv().REFUND_APPROVAL_THRESHOLD_FEN}
    />
  );
}
