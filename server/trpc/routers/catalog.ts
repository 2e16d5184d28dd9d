import { asc, eq } from 'drizzle-orm';
import { products } from '@/db/schema';
import { publicProcedure, router } from '../init';

export const catalogRouter = router({
  /** Stable contract: products with id, name, priceFen (plus display extras). */
  list: publicProcedure.query(({ ctx }) =>
    ctx.db
      .select({
        id: products.id,
        name: products.name,
        nameEn: products.nameEn,
        description: products.description,
        priceFen: products.priceFen,
        imageUrl: products.imageUrl,
      })
      .from(products)
      .where(eq(products.active, true))
      .orderBy(asc(products.position), asc(products.id)),
  ),
});
