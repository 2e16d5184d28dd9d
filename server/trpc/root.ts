import { router } from './init';
import { catalogRouter } from './routers/catalog';
import { checkoutRouter } from './routers/checkout';
import { adminRouter } from './routers/admin';
import { setupRouter } from './routers/setup';

export const appRouter = router({
  catalog: catalogRouter,
  checkout: checkoutRouter,
  admin: adminRouter,
  setup: setupRouter,
});

export type AppRouter = typeof appRouter;
