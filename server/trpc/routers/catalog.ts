import { asc, eq } from 'drizzle-orm';
import { products } from '@/db/schema';
import { publicProcedure, router } from '../init';

export const catalogRouter = router({
  /**
   * Stable contract: products with id, name, priceFen (plus display extras). Texts come in both shopper
   * languages: `name`, `tagline`, `description` in Chinese (zh-CN), the `…En` fields in English.
   */
  list: publicProcedure.query(({ ctx }) =>
    ctx.db
      .select({
        id: products.id,
        name: products.name,
        nameEn: products.nameEn,
        tagline: products.tagline,
        taglineEn: products.taglineEn,
        description: products.description,
        descriptionEn: products.descriptionEn,
        priceFen: products.priceFen,
        imageUrl: products.imageUrl,
      })
      .from(products)
      .where(eq(products.active, true))
      .orderBy(asc(products.position), asc(products.id)),
  ),
});
