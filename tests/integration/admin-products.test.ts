// Products managed in the console, on real Postgres: who may do what (table-driven per role), validation
// of every field (price typed in yuan, capped by MAX_ORDER_AMOUNT_FEN), the audit trail with before/after,
// images accepted by their bytes only and served with their own type, and the storefront and checkout
// following the active flag.
import { TRPCError } from '@trpc/server';
import { and, desc, eq } from 'drizzle-orm';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditLog, orderItems, orders, products } from '@/db/schema';
import { can, ROLES, type Role } from '@/server/auth/permissions';
import { detectImageType } from '@/server/catalog/image-type';
import { yuanToFen } from '@/server/catalog/products';
import { loadEnv } from '@/server/env';
import { GET as imageRoute } from '@/app/api/products/[id]/image/route';
import { callerFor, signedInUser, type SignedIn } from '../helpers/admin';
import { startHarness, trpcCall, type Harness } from '../helpers/app-harness';
import { getDb } from '../helpers/db';

const users = new Map<Role, SignedIn>();
let seq = 0;
const newId = () => `test-product-${process.pid}-${++seq}`;
const as = (role: Role) => callerFor(users.get(role)!.headers()).admin.products;
const fields = { name: '测试茶', nameEn: 'Test tea', tagline: '一句话', taglineEn: 'One line', description: '', descriptionEn: 'About it', priceYuan: '12.30' };

function png(width = 4, height = 3): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(200);
  return PNG.sync.write(image);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof TRPCError) return e.code;
    throw e;
  }
}

async function zodMessages(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TRPCError && e.code === 'BAD_REQUEST') {
      const cause = e.cause as { issues?: { message: string }[] } | undefined;
      return cause?.issues?.map((i) => i.message) ?? [e.message];
    }
    throw e;
  }
  return [];
}

let h: Harness;
beforeAll(async () => {
  // The app over HTTP with the simulator behind it: a checkout is a real request answered with a real status.
  h = await startHarness({ worker: false });
  for (const role of ROLES) users.set(role, await signedInUser(role));
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe.each([...ROLES])('as %s', (role) => {
  test('sees the products list only with products:view, changes them only with products:manage', async () => {
    const list = await codeOf(as(role).list());
    expect(list).toBe(can(role, 'products:view') ? 'OK' : 'FORBIDDEN');
    const id = newId();
    const created = await codeOf(as(role).create({ id, ...fields }));
    expect(created).toBe(can(role, 'products:manage') ? 'OK' : 'FORBIDDEN');
    const deactivate = await codeOf(as(role).setActive({ id: 'ceramic-mug', active: true }));
    expect(deactivate).toBe(can(role, 'products:manage') ? 'OK' : 'FORBIDDEN');
    const image = await codeOf(as(role).setImage({ id: 'ceramic-mug', dataBase64: '' }));
    expect(image).toBe(can(role, 'products:manage') ? 'BAD_REQUEST' : 'FORBIDDEN');
    if (!can(role, 'products:manage')) expect(await getDb().select().from(products).where(eq(products.id, id))).toEqual([]);
  });
});

test('yuan is parsed exactly into fen', () => {
  expect(yuanToFen('12.30')).toBe(1230);
  expect(yuanToFen('12.3')).toBe(1230);
  expect(yuanToFen('0.01')).toBe(1);
  expect(yuanToFen('7')).toBe(700);
  for (const bad of ['12.345', '-1', '1e3', '12,30', '', '¥12', '0x10']) expect(yuanToFen(bad), bad).toBeNull();
});

test('bad fields are refused with a reason, and nothing is written', async () => {
  const owner = as('owner');
  const cap = loadEnv().MAX_ORDER_AMOUNT_FEN;
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['price with three decimals', { priceYuan: '1.234' }, 'PRICE_INVALID'],
    ['zero price', { priceYuan: '0' }, 'PRICE_INVALID'],
    ['price above the order cap', { priceYuan: ((cap + 1) / 100).toFixed(2) }, 'PRICE_ABOVE_CAP'],
    ['empty Chinese name', { name: '' }, 'Too small'],
    ['control character in a text', { taglineEn: 'a\u0007b' }, 'must not contain control characters'],
  ];
  for (const [what, change, message] of cases) {
    const id = newId();
    const messages = await zodMessages(owner.create({ id, ...fields, ...change } as never));
    expect(messages.join(' | '), what).toContain(message);
    expect(await getDb().select().from(products).where(eq(products.id, id)), what).toEqual([]);
  }
  for (const id of ['Upper', 'with space', '-leading', 'a'.repeat(65), '../x']) {
    expect(await zodMessages(owner.create({ ...fields, id })), id).toContain('PRODUCT_ID_INVALID');
  }
  // The largest allowed price is the cap itself.
  const atCap = newId();
  await owner.create({ ...fields, id: atCap, priceYuan: (cap / 100).toFixed(2) });
  expect((await getDb().select().from(products).where(eq(products.id, atCap)))[0]?.priceFen).toBe(cap);
  // An id is unique: the second create is a clear conflict, the first product unchanged.
  expect(await codeOf(owner.create({ ...fields, id: atCap, name: '别的' }))).toBe('CONFLICT');
  expect((await getDb().select().from(products).where(eq(products.id, atCap)))[0]?.name).toBe(fields.name);
});

test('create, edit, deactivate and reactivate are each audited with before and after', async () => {
  const owner = as('owner');
  const id = newId();
  const created = await owner.create({ id, ...fields, position: 5 });
  expect(created).toMatchObject({ id, priceFen: 1230, active: true, name: '测试茶', taglineEn: 'One line', position: 5 });
  await owner.update({ id, ...fields, priceYuan: '15', nameEn: 'Better tea', reason: 'new price list' });
  await owner.setActive({ id, active: false, reason: 'sold out' });
  await owner.setActive({ id, active: true });
  const entries = await getDb()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.objectType, 'product'), eq(auditLog.objectId, id)))
    .orderBy(auditLog.id);
  expect(entries.map((e) => e.action)).toEqual(['product.create', 'product.update', 'product.deactivate', 'product.reactivate']);
  const [create, update, deactivate] = entries;
  expect(create).toMatchObject({ actorEmail: users.get('owner')!.email, actorRole: 'owner', before: null });
  expect(create!.after).toMatchObject({ id, priceFen: 1230, nameEn: 'Test tea' });
  expect(update!.before).toMatchObject({ priceFen: 1230, nameEn: 'Test tea' });
  expect(update!.after).toMatchObject({ priceFen: 1500, nameEn: 'Better tea' });
  expect(update!.reason).toBe('new price list');
  expect(deactivate).toMatchObject({ before: { active: true }, after: { active: false }, reason: 'sold out' });
  // Editing a product that does not exist is a clear 404, not a silent no-op.
  expect(await codeOf(owner.update({ id: newId(), ...fields }))).toBe('NOT_FOUND');
});

test('the storefront lists a new product and drops a deactivated one; checkout refuses it with a 400', async () => {
  const owner = as('owner');
  const shop = callerFor(undefined);
  const id = newId();
  await owner.create({ id, ...fields, priceYuan: '8.80' });
  expect((await shop.catalog.list()).find((p) => p.id === id)).toMatchObject({ name: '测试茶', nameEn: 'Test tea', priceFen: 880 });
  const bought = await trpcCall<{ token: string }>(h.appUrl, 'checkout.create', { items: [{ productId: id, quantity: 2 }] }, 'mutation');
  expect(bought.status).toBe(200);
  const [order] = await getDb().select().from(orders).where(eq(orders.token, bought.data!.token));
  expect(order!.amountFen).toBe(1760);

  await owner.setActive({ id, active: false });
  expect((await shop.catalog.list()).map((p) => p.id)).not.toContain(id);
  const refused = await trpcCall(h.appUrl, 'checkout.create', { items: [{ productId: id, quantity: 1 }] }, 'mutation');
  expect(refused.status).toBe(400);
  expect(refused.error.message).toBe(`Unknown or unavailable product: ${id}`);
  // The order placed before keeps its line.
  expect(await getDb().select({ productId: orderItems.productId }).from(orderItems).where(eq(orderItems.orderId, order!.id))).toEqual([{ productId: id }]);
});

test('images are recognised by their bytes', () => {
  expect(detectImageType(png())).toBe('image/png');
  expect(detectImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]))).toBe('image/jpeg');
  expect(detectImageType(Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('image/webp');
  expect(detectImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'))).toBeNull();
  expect(detectImageType(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'))).toBeNull();
  expect(detectImageType(Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'))).toBeNull();
  expect(detectImageType(Buffer.alloc(0))).toBeNull();
});

test('an uploaded image is stored, shown by the shop and served with its own type, nosniff and a cache header', async () => {
  const owner = as('owner');
  const id = newId();
  await owner.create({ id, ...fields });
  const bytes = png(8, 6);
  const updated = await owner.setImage({ id, dataBase64: bytes.toString('base64') });
  expect(updated.imageUrl).toMatch(new RegExp(`^/api/products/${id}/image\\?v=[0-9a-f]{16}$`));
  expect((await callerFor(undefined).catalog.list()).find((p) => p.id === id)?.imageUrl).toBe(updated.imageUrl);

  const res = await imageRoute(new Request(`http://app${updated.imageUrl}`), { params: Promise.resolve({ id }) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/png');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  // An old or made-up version gets the current bytes but is not cached for long.
  const stale = await imageRoute(new Request(`http://app/api/products/${id}/image?v=0000000000000000`), { params: Promise.resolve({ id }) });
  expect(stale.headers.get('cache-control')).toBe('public, max-age=60');
  const missing = await imageRoute(new Request('http://app/api/products/nope/image'), { params: Promise.resolve({ id: 'no-such-product' }) });
  expect(missing.status).toBe(404);

  const [entry] = await getDb()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.objectId, id), eq(auditLog.action, 'product.image')))
    .orderBy(desc(auditLog.id));
  expect(entry!.after).toMatchObject({ imageUrl: updated.imageUrl, contentType: 'image/png', bytes: bytes.length });
});

test('an image is refused by its content, whatever it claims to be, and when too large', async () => {
  const owner = as('owner');
  const id = newId();
  await owner.create({ id, ...fields });
  const refusedBytes = [
    Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    Buffer.from('<!doctype html><script>alert(1)</script>'),
    Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'),
    // A PNG's bytes with a stray byte in front are no longer a PNG.
    Buffer.concat([Buffer.from([0x20]), png()]),
  ];
  for (const bytes of refusedBytes) {
    await expect(owner.setImage({ id, dataBase64: bytes.toString('base64') })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'IMAGE_TYPE' });
  }
  const tooLarge = Buffer.concat([png(), Buffer.alloc(loadEnv().PRODUCT_IMAGE_MAX_BYTES)]);
  await expect(owner.setImage({ id, dataBase64: tooLarge.toString('base64') })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'IMAGE_TOO_LARGE' });
  await expect(owner.setImage({ id, dataBase64: 'not base64!' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  const [row] = await getDb().select().from(products).where(eq(products.id, id));
  expect(row!.imageUrl).toBeNull();
});
