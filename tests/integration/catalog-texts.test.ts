// Products carry their texts in both shopper languages: catalog.list returns both, and a catalogue
// seeded before there were texts in both languages gets the demo products' missing texts filled in,
// never a text someone wrote replaced.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { products } from '@/db/schema';
import { DEMO_PRODUCTS, seedDemoCatalogue } from '@/db/seed';
import { startHarness, trpcCall, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

it('catalog.list returns name, tagline and description in Chinese and English', async () => {
  const res = await trpcCall(h.appUrl, 'catalog.list', undefined);
  expect(res.status).toBe(200);
  const mug = res.data.find((p: { id: string }) => p.id === 'ceramic-mug');
  expect(mug).toMatchObject({
    name: '青瓷马克杯',
    nameEn: 'Celadon mug',
    tagline: '手工施釉，350 毫升',
    taglineEn: 'Hand-glazed, 350 ml',
    description: expect.stringMatching(/^龙泉青瓷/),
    descriptionEn: expect.stringMatching(/^Longquan celadon/),
    priceFen: 6900,
  });
  // Every demo product has all its texts (products other files create may leave the optional ones empty).
  const demo = new Set<string>(DEMO_PRODUCTS.map((d) => d.id));
  const listed = res.data.filter((p: { id: string }) => demo.has(p.id));
  expect(listed.length).toBe(DEMO_PRODUCTS.length);
  for (const p of listed)
    for (const key of ['name', 'nameEn', 'tagline', 'taglineEn', 'description', 'descriptionEn']) expect(p[key], `${p.id}.${key}`).not.toBe('');
});

it('the seed fills in the texts a demo product lacks and keeps the ones someone wrote', async () => {
  const db = h.db;
  // What migration 0002 leaves of a catalogue seeded before: the English tagline, nothing else.
  await db.update(products).set({ tagline: '', description: '', descriptionEn: '', taglineEn: 'Hand-glazed, 350 ml' }).where(eq(products.id, 'ceramic-mug'));
  await db.update(products).set({ tagline: '店主自己写的', description: '' }).where(eq(products.id, 'longjing-tea'));
  expect(await seedDemoCatalogue(db)).toBe(0); // nothing inserted into a catalogue that has products

  const [mug] = await db.select().from(products).where(eq(products.id, 'ceramic-mug'));
  const demoMug = DEMO_PRODUCTS.find((p) => p.id === 'ceramic-mug');
  expect(mug).toMatchObject({
    tagline: demoMug?.tagline,
    taglineEn: demoMug?.taglineEn,
    description: demoMug?.description,
    descriptionEn: demoMug?.descriptionEn,
  });
  const [tea] = await db.select().from(products).where(eq(products.id, 'longjing-tea'));
  expect(tea?.tagline).toBe('店主自己写的');
  expect(tea?.description).toBe(DEMO_PRODUCTS.find((p) => p.id === 'longjing-tea')?.description);
});
