// Tables the console adds: product images, and the last TOTP time step accepted per user.
//
// Product images uploaded in the console. Kept in Postgres (not on disk) so they are in the same backup as
// the products that show them, and every web process serves the same bytes without a shared volume.
import { sql } from 'drizzle-orm';
import { bigint, check, customType, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { authUsers, products } from './schema-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

export const productImages = pgTable(
  'product_images',
  {
    productId: text('product_id')
      .primaryKey()
      .references(() => products.id),
    /** Decided from the bytes' signature at upload (never from the file name or the browser's claim). */
    contentType: text('content_type').notNull(),
    bytes: bytea('bytes').notNull(),
    /** Hex SHA-256 of the bytes: the image URL carries its start, so a new image is a new URL (cached forever). */
    sha256: text('sha256').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('product_images_type', sql`${t.contentType} in ('image/png', 'image/jpeg', 'image/webp')`),
    check('product_images_size', sql`octet_length(${t.bytes}) > 0`),
  ],
);

/** The last TOTP time step (unix time / 30 s) accepted for each user: a code of that step or an earlier one is refused (server/auth/totp-replay.ts). */
export const authTotpSteps = pgTable('auth_totp_steps', {
  userId: text('user_id')
    .primaryKey()
    .references(() => authUsers.id, { onDelete: 'cascade' }),
  lastStep: bigint('last_step', { mode: 'number' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
