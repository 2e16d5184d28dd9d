// Every procedure under `admin` is built with adminProcedure(permission): tests/integration/admin-permissions.test.ts
// walks this router and calls each one as every role.
import { router } from '../../init';
import { adminAuditRouter } from './audit';
import { adminExportsRouter } from './exports';
import { meRouter } from './me';
import { adminOrdersRouter } from './orders';
import { adminProductsRouter } from './products';
import { adminUsersRouter } from './users';
import { adminViewsRouter } from './views';

export const adminRouter = router({
  me: meRouter,
  orders: adminOrdersRouter,
  users: adminUsersRouter,
  audit: adminAuditRouter,
  exports: adminExportsRouter,
  views: adminViewsRouter,
  products: adminProductsRouter,
});
