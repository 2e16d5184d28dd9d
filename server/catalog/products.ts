// The product catalogue as the merchant manages it: create, edit, deactivate/reactivate, image. This module
// is the one owner of writes to `products` and `product_images`; each write is audited (before/after) in
// the same transaction. The storefront reads active products (server/trpc/routers/catalog.ts) and an order
// is only ever priced from an active one (server/payments/orders.ts).
import { createHash } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { productImages, products } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import { yuanToFen } from '@/server/money-text';
import { safeText } from '@/server/safe-text';

export { yuanToFen };
import { detectImageType } from './image-type';

export const PRODUCT_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** Optional text: empty allowed, else well-formed (the storefront falls back to the other language). */
const optionalText = (max: number) => z.union([z.literal(''), safeText(max)]).default('');

/** The editable fields; the price arrives in yuan as typed and is checked against the per-order cap. */
export function productFieldsSchema(maxOrderFen: number) {
  return z.object({
    name: safeText(100),
    nameEn: safeText(100),
    tagline: optionalText(200),
    taglineEn: optionalText(200),
    description: optionalText(2000),
    descriptionEn: optionalText(2000),
    priceYuan: z
      .string()
      .max(20)
      .transform((value, ctx) => {
        const fen = yuanToFen(value);
        if (fen === null || fen <= 0) {
          ctx.addIssue({ code: 'custom', message: 'PRICE_INVALID' });
          return z.NEVER;
        }
        if (fen > maxOrderFen) {
          ctx.addIssue({ code: 'custom', message: 'PRICE_ABOVE_CAP' });
          return z.NEVER;
        }
        return fen;
      }),
    position: z.number().int().min(0).max(1_000_000).default(0),
  });
}
type FieldsInput = z.output<ReturnType<typeof productFieldsSchema>>;
export type ProductFields = Omit<FieldsInput, 'priceYuan'> & { priceFen: number };

/** The parsed input as stored: the price (typed in yuan, already fen) under its column's name. */
export function toProductFields<T extends FieldsInput>(input: T): Omit<T, 'priceYuan'> & { priceFen: number } {
  const { priceYuan, ...rest } = input;
  return { ...rest, priceFen: priceYuan };
}

export const ProductIdSchema = z.string().max(64).regex(PRODUCT_ID, 'PRODUCT_ID_INVALID');

type ProductRow = typeof products.$inferSelect;

export function listAllProducts(db: DbOrTx): Promise<ProductRow[]> {
  return db.select().from(products).orderBy(asc(products.position), asc(products.id));
}

async function productOrThrow(db: DbOrTx, id: string): Promise<ProductRow> {
  const [row] = await db.select().from(products).where(eq(products.id, id)).for('update');
  if (!row) throw new AppError('NOT_FOUND', `No product ${id}`);
  return row;
}

/** What the audit log keeps of a product (everything but its creation time). */
function snapshot(p: ProductRow) {
  const { createdAt: _createdAt, ...rest } = p;
  return rest;
}

export async function createProduct(db: DbOrTx, actor: AuditActor, id: string, fields: ProductFields): Promise<ProductRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(products)
      .values({ id, ...fields, active: true })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new AppError('CONFLICT', `A product with the id ${id} already exists`);
    await appendAudit(tx, actor, { action: 'product.create', objectType: 'product', objectId: id, after: snapshot(row) });
    return row;
  });
}

export async function updateProduct(db: DbOrTx, actor: AuditActor, id: string, fields: ProductFields, reason: string | null): Promise<ProductRow> {
  return db.transaction(async (tx) => {
    const before = await productOrThrow(tx, id);
    const [row] = await tx.update(products).set(fields).where(eq(products.id, id)).returning();
    await appendAudit(tx, actor, { action: 'product.update', objectType: 'product', objectId: id, before: snapshot(before), after: snapshot(row!), reason });
    return row!;
  });
}

/** Deactivated products leave the storefront and cannot be ordered; orders that hold them keep their lines. */
export async function setProductActive(db: DbOrTx, actor: AuditActor, id: string, active: boolean, reason: string | null): Promise<ProductRow> {
  return db.transaction(async (tx) => {
    const before = await productOrThrow(tx, id);
    if (before.active === active) return before;
    const [row] = await tx.update(products).set({ active }).where(eq(products.id, id)).returning();
    await appendAudit(tx, actor, {
      action: active ? 'product.reactivate' : 'product.deactivate',
      objectType: 'product',
      objectId: id,
      before: { active: before.active },
      after: { active },
      reason,
    });
    return row!;
  });
}

export const productImageUrl = (id: string, sha256: string) => `/api/products/${encodeURIComponent(id)}/image?v=${sha256.slice(0, 16)}`;

/** Stores an uploaded image after checking its content (not its name) and size; the product then shows it. */
export async function setProductImage(db: DbOrTx, actor: AuditActor, id: string, bytes: Buffer, maxBytes: number): Promise<ProductRow> {
  if (bytes.length === 0) throw new AppError('BAD_REQUEST', 'IMAGE_EMPTY');
  if (bytes.length > maxBytes) throw new AppError('BAD_REQUEST', 'IMAGE_TOO_LARGE');
  const contentType = detectImageType(bytes);
  if (!contentType) throw new AppError('BAD_REQUEST', 'IMAGE_TYPE');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return db.transaction(async (tx) => {
    const before = await productOrThrow(tx, id);
    await tx
      .insert(productImages)
      .values({ productId: id, contentType, bytes, sha256 })
      .onConflictDoUpdate({ target: productImages.productId, set: { contentType, bytes, sha256, updatedAt: new Date() } });
    const imageUrl = productImageUrl(id, sha256);
    const [row] = await tx.update(products).set({ imageUrl }).where(eq(products.id, id)).returning();
    await appendAudit(tx, actor, {
      action: 'product.image',
      objectType: 'product',
      objectId: id,
      before: { imageUrl: before.imageUrl },
      after: { imageUrl, contentType, bytes: bytes.length, sha256 },
    });
    return row!;
  });
}

/** The stored image of a product, for the public image route. */
export async function productImage(db: DbOrTx, id: string): Promise<{ contentType: string; bytes: Buffer; sha256: string } | null> {
  const [row] = await db
    .select({ contentType: productImages.contentType, bytes: productImages.bytes, sha256: productImages.sha256 })
    .from(productImages)
    .where(eq(productImages.productId, id));
  return row ?? null;
}
