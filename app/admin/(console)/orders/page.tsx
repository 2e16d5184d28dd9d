import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { OrdersView } from './orders-view';

export default async function OrdersPage() {
  const { session, allowed } = await requireAdmin('orders:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  return <OrdersView />;
}
