// Every procedure under `admin` is built with adminProcedure(permission): tests/integration/admin-permissions.test.ts
// walks this router and calls each one as every role.
import { router } from '../../init';
import { adminAuditRouter } from './audit';
import { adminDevelopersRouter } from './developers';
import { adminExportsRouter } from './exports';
import { meRouter } from './me';
import { adminAlertsRouter, adminQueuesRouter, adminStatsRouter } from './monitoring';
import { adminOrdersRouter } from './orders';
import { adminRefundsRouter } from './refunds';
import { adminReconciliationRouter } from './reconciliation';
import { adminProductsRouter } from './products';
import { adminUsersRouter } from './users';
import { adminViewsRouter } from './views';

export const adminRouter = router({
  me: meRouter,
  orders: adminOrdersRouter,
  refunds: adminRefundsRouter,
  users: adminUsersRouter,
  audit: adminAuditRouter,
  exports: adminExportsRouter,
  views: adminViewsRouter,
  stats: adminStatsRouter,
  alerts: adminAlertsRouter,
  queues: adminQueuesRouter,
  developers: adminDevelopersRouter,
  reconciliation: adminReconciliationRouter,
  products: adminProductsRouter,
});
