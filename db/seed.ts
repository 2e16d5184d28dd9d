// A small demo catalogue, inserted only when the products table is empty; its texts are filled in where a
// demo product left them empty (a catalogue seeded before products had texts in both languages).
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './client';
import { products } from './schema';

export const DEMO_PRODUCTS = [
  {
    id: 'longjing-tea',
    name: '西湖龙井 50g',
    nameEn: 'West Lake Longjing tea, 50 g',
    tagline: '明前春茶，豆香清雅',
    taglineEn: 'Spring harvest green tea',
    description: '杭州西湖产区的明前龙井，扁平光滑，汤色嫩绿。80 °C 水冲泡，可续泡三次。',
    descriptionEn: 'Picked before Qingming in the West Lake hills of Hangzhou: flat, smooth leaves and a pale green cup. Brew at 80 °C, three infusions.',
    priceFen: 8800,
    imageUrl: '/products/tea.svg',
    position: 1,
  },
  {
    id: 'ceramic-mug',
    name: '青瓷马克杯',
    nameEn: 'Celadon mug',
    tagline: '手工施釉，350 毫升',
    taglineEn: 'Hand-glazed, 350 ml',
    description: '龙泉青瓷釉色，每只釉面略有不同。可用洗碗机清洗，不宜用于微波炉。',
    descriptionEn: 'Longquan celadon glaze, a little different on every mug. Dishwasher safe; not for the microwave.',
    priceFen: 6900,
    imageUrl: '/products/mug.svg',
    position: 2,
  },
  {
    id: 'mooncake-box',
    name: '流心奶黄月饼礼盒',
    nameEn: 'Custard mooncake gift box',
    tagline: '六枚装',
    taglineEn: 'Six pieces',
    description: '咸蛋黄奶黄流心馅，独立包装，常温保存 30 天。',
    descriptionEn: 'Molten salted-egg custard filling, each piece wrapped on its own. Keeps 30 days at room temperature.',
    priceFen: 12800,
    imageUrl: '/products/mooncake.svg',
    position: 3,
  },
  {
    id: 'red-envelope',
    name: '红包封面套装',
    nameEn: 'Red envelope set',
    tagline: '十个装',
    taglineEn: 'Ten envelopes',
    description: '烫金福字红包，适合新春与婚礼。一分钱试付商品。',
    descriptionEn: 'Gold-foil red envelopes for the New Year and weddings. Costs one fen: the item for a test payment.',
    priceFen: 1,
    imageUrl: '/products/envelope.svg',
    position: 4,
  },
] as const;

const TEXT_COLUMNS = ['tagline', 'taglineEn', 'description', 'descriptionEn'] as const;

export async function seedDemoCatalogue(db: Db): Promise<number> {
  const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(products);
  if ((row?.count ?? 0) > 0) {
    await fillDemoTexts(db);
    return 0;
  }
  const inserted = await db
    .insert(products)
    .values([...DEMO_PRODUCTS])
    .onConflictDoNothing()
    .returning({ id: products.id });
  return inserted.length;
}

/** Demo products still there get the texts they lack; a text someone wrote is never replaced. */
async function fillDemoTexts(db: Db): Promise<void> {
  for (const demo of DEMO_PRODUCTS) {
    const set = Object.fromEntries(
      TEXT_COLUMNS.map((column) => [column, sql`case when ${products[column]} = '' then ${demo[column]} else ${products[column]} end`]),
    );
    await db
      .update(products)
      .set(set)
      .where(and(eq(products.id, demo.id), sql`'' in (${products.tagline}, ${products.taglineEn}, ${products.description}, ${products.descriptionEn})`));
  }
}
