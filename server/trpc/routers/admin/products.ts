import { z } from 'zod';
import { auditActor } from '@/server/auth/session';
import {
  createProduct,
  listAllProducts,
  ProductIdSchema,
  productFieldsSchema,
  setProductActive,
  setProductImage,
  toProductFields,
  updateProduct,
} from '@/server/catalog/products';
import { loadEnv } from '@/server/env';
import { adminProcedure } from '../../admin';
import { router } from '../../init';

const reason = z.string().trim().max(500).optional();
// The cap comes from the settings at call time (MAX_ORDER_AMOUNT_FEN): a product dearer than an order may be could never be bought.
const fields = () => productFieldsSchema(loadEnv().MAX_ORDER_AMOUNT_FEN);
// The setting's own cap (20 MB) bounds the string; the configured size is checked on the decoded bytes.
const MAX_BASE64 = Math.ceil((20 * 1024 * 1024) / 3) * 4;
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'IMAGE_ENCODING');

export const adminProductsRouter = router({
  list: adminProcedure('products:view').query(({ ctx }) => listAllProducts(ctx.db)),
  create: adminProcedure('products:manage')
    .input(z.lazy(() => fields().extend({ id: ProductIdSchema })))
    .mutation(({ ctx, input }) => {
      const { id, ...rest } = toProductFields(input);
      return createProduct(ctx.db, auditActor(ctx.admin), id, rest);
    }),
  update: adminProcedure('products:manage')
    .input(z.lazy(() => fields().extend({ id: ProductIdSchema, reason })))
    .mutation(({ ctx, input }) => {
      const { id, reason: why, ...rest } = toProductFields(input);
      return updateProduct(ctx.db, auditActor(ctx.admin), id, rest, why ?? null);
    }),
  setActive: adminProcedure('products:manage')
    .input(z.object({ id: ProductIdSchema, active: z.boolean(), reason }))
    .mutation(({ ctx, input }) => setProductActive(ctx.db, auditActor(ctx.admin), input.id, input.active, input.reason ?? null)),
  /** The image's bytes, base64; its type is decided from the bytes (server/catalog/image-type.ts). */
  setImage: adminProcedure('products:manage')
    .input(z.object({ id: ProductIdSchema, dataBase64: base64.max(MAX_BASE64) }))
    .mutation(({ ctx, input }) =>
      setProductImage(ctx.db, auditActor(ctx.admin), input.id, Buffer.from(input.dataBase64, 'base64'), ctx.deps.env.PRODUCT_IMAGE_MAX_BYTES),
    ),
});
