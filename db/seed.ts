// A small demo catalogue, inserted only when the products table is empty.
import { sql } from 'drizzle-orm';
import type { Db } from './client';
import { products } from './schema';

export const DEMO_PRODUCTS = [
  { id: 'longjing-tea', name: '西湖龙井 50g', nameEn: 'West Lake Longjing tea, 50 g', description: 'Spring harvest green tea', priceFen: 8800, imageUrl: '/products/tea.svg', position: 1 },
  { id: 'ceramic-mug', name: '青瓷马克杯', nameEn: 'Celadon mug', description: 'Hand-glazed, 350 ml', priceFen: 6900, imageUrl: '/products/mug.svg', position: 2 },
  { id: 'mooncake-box', name: '流心奶黄月饼礼盒', nameEn: 'Custard mooncake gift box', description: 'Six pieces', priceFen: 12800, imageUrl: '/products/mooncake.svg', position: 3 },
  { id: 'red-envelope', name: '红包封面套装', nameEn: 'Red envelope set', description: 'Ten envelopes', priceFen: 1, imageUrl: '/products/envelope.svg', position: 4 },
] as const;

export async function seedDemoCatalogue(db: Db): Promise<number> {
  const [{ count }] = await db.select({ count: sql<number>`count(*)::int` }).from(products);
  if (count > 0) return 0;
  const inserted = await db.insert(products).values([...DEMO_PRODUCTS]).onConflictDoNothing().returning({ id: products.id });
  return inserted.length;
}
