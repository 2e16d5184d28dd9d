import { router } from './init';
import { catalogRouter } from './routers/catalog';
import { checkoutRouter } from './routers/checkout';

export const appRouter = router({
  catalog: catalogRouter,
  checkout: checkoutRouter,
});

export type AppRouter = typeof appRouter;
