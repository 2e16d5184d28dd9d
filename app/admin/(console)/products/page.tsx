import { can } from '@/server/auth/permissions';
import { loadEnv } from '@/server/env';
import { requireAdmin } from '../../_lib/require';
import { Forbidden } from '../forbidden';
import { ProductsView } from './products-view';

export default async function ProductsPage() {
  const { session, allowed } = await requireAdmin('products:view');
  if (!allowed) return <Forbidden role={session.user.role} />;
  const env = loadEnv();
  return (
    <ProductsView canManage={can(session.user.role, 'products:manage')} maxImageBytes={env.PRODUCT_IMAGE_MAX_BYTES} maxPriceFen={env.MAX_ORDER_AMOUNT_FEN} />
  );
}
