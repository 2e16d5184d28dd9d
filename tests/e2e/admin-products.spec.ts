// Products in the console, in Chromium (desktop in Chinese, phone in English): an owner creates a product
// with an uploaded image, the shop shows it with that image in both languages, a file that only claims to
// be a PNG is refused, deactivating takes the product out of the shop. axe checks the products page.
import { expect, test, type Page } from '@playwright/test';
import type * as OTPAuth from 'otpauth';
import { PNG } from 'pngjs';
import { cliCreateUser, enrol, PASSWORD, signIn, uniqueEmail } from './admin-support';
import { expectNoSeriousA11yViolations } from './axe';
import { LANGS, msg, productCard, projectLang, useLang, type Lang } from './support';

// Not a React hook: the language cookie, set once per shop language in a loop.
const chooseLang = useLang;

test.describe.configure({ mode: 'serial', timeout: 120_000 });

let lang: Lang;
const owner = { email: '', totp: null as OTPAuth.TOTP | null };
const product = { id: '', zh: '', en: '' };

function png(): Buffer {
  const image = new PNG({ width: 40, height: 30 });
  for (let i = 0; i < image.data.length; i += 4) image.data.set([30, 120, 90, 255], i);
  return PNG.sync.write(image);
}

test.beforeEach(async ({ context }, testInfo) => {
  lang = projectLang(testInfo);
  await useLang(context, lang);
});

async function openProducts(page: Page) {
  await signIn(page, lang, owner.email, PASSWORD, owner.totp ?? undefined);
  await page.waitForURL(/\/admin\/orders/);
  await page
    .getByRole('navigation', { name: msg(lang, 'admin.nav.menu') })
    .getByRole('link', { name: msg(lang, 'admin.nav.products') })
    .click();
  await expect(page.getByRole('heading', { name: msg(lang, 'consoleMore.products.heading'), level: 1 })).toBeVisible();
}

test('an owner creates a product with an image; a fake PNG is refused by its content', async ({ page }) => {
  owner.email = uniqueEmail('products-owner', lang);
  cliCreateUser(owner.email, 'owner');
  await signIn(page, lang, owner.email, PASSWORD);
  owner.totp = await enrol(page, lang, PASSWORD);
  await page.goto('/admin/products');
  await expect(page.getByRole('heading', { name: msg(lang, 'consoleMore.products.heading'), level: 1 })).toBeVisible();
  await expect(page.getByTestId('product-row').first()).toBeVisible();
  await expectNoSeriousA11yViolations(page, { label: `products, ${lang}` });

  const stamp = Date.now().toString(36);
  product.id = `e2e-${lang.toLowerCase()}-${stamp}`;
  product.zh = `测试白茶 ${stamp}`;
  product.en = `Test white tea ${stamp}`;
  const t = (key: string) => msg(lang, `consoleMore.products.${key}`);
  await page.getByLabel(t('id')).fill(product.id);
  await page.getByLabel(t('nameZh')).fill(product.zh);
  await page.getByLabel(t('nameEn')).fill(product.en);
  await page.getByLabel(t('taglineZh')).fill('清香回甘');
  await page.getByLabel(t('taglineEn')).fill('Light and sweet');
  // A bad price first: the field says why, nothing is created.
  await page.getByLabel(t('price')).fill('12.345');
  await page.getByRole('button', { name: t('create') }).click();
  await expect(page.getByText(msg(lang, 'consoleMore.products.errors.PRICE_INVALID'))).toBeVisible();
  await expect(page.getByLabel(t('price'))).toHaveAttribute('aria-invalid', 'true');
  await expectNoSeriousA11yViolations(page, { label: `products with errors, ${lang}` });

  await page.getByLabel(t('price')).fill('26.80');
  // An SVG with a .png name and type: refused by what it is.
  await page
    .getByLabel(t('image'))
    .setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>') });
  await page.getByRole('button', { name: t('create') }).click();
  await expect(page.getByText(msg(lang, 'consoleMore.products.errors.IMAGE_TYPE'))).toBeVisible();
  // The texts were saved: the form is now editing the product, and a real PNG goes in.
  await expect(page.getByRole('heading', { name: msg(lang, 'consoleMore.products.editTitle', { id: product.id }) })).toBeVisible();
  await page.getByLabel(t('image')).setInputFiles({ name: 'tea.bin', mimeType: 'application/octet-stream', buffer: png() });
  await page.getByRole('button', { name: t('save') }).click();
  await expect(page.getByTestId('products-message')).toHaveText(msg(lang, 'consoleMore.products.saved', { id: product.id }));
  const row = page.locator(`[data-testid="product-row"][data-product-id="${product.id}"]`);
  await expect(row).toContainText('¥26.80');
  await expect(row.locator('img')).toHaveAttribute('src', new RegExp(`^/api/products/${product.id}/image\\?v=`));
});

test('the shop shows the new product with its image in both languages', async ({ page, context }) => {
  for (const shopLang of LANGS) {
    await chooseLang(context, shopLang);
    await page.goto('/');
    const card = productCard(page, product.id);
    await expect(card.getByRole('heading', { name: shopLang === 'en' ? product.en : product.zh })).toBeVisible();
    await expect(card.getByTestId('tagline')).toHaveText(shopLang === 'en' ? 'Light and sweet' : '清香回甘');
    await expect(card.getByTestId('price')).toHaveText('¥26.80');
    const img = card.locator('img');
    await expect(img).toHaveAttribute('src', new RegExp(`^/api/products/${product.id}/image\\?v=`));
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(40);
    const res = await page.request.get((await img.getAttribute('src'))!);
    expect(res.headers()['content-type']).toBe('image/png');
    expect(res.headers()['x-content-type-options']).toBe('nosniff');
    expect(res.headers()['cache-control']).toContain('immutable');
  }
});

test('deactivating takes the product out of the shop, and its order is refused', async ({ page, context }) => {
  await openProducts(page);
  const name = lang === 'en' ? product.en : product.zh;
  await page.getByRole('button', { name: msg(lang, 'consoleMore.products.deactivateLabel', { name }) }).click();
  await expect(page.getByTestId('products-message')).toHaveText(msg(lang, 'consoleMore.products.deactivated', { id: product.id }));
  const row = page.locator(`[data-testid="product-row"][data-product-id="${product.id}"]`);
  await expect(row).toContainText(msg(lang, 'consoleMore.products.inactive'));
  await expect(page.getByRole('button', { name: msg(lang, 'consoleMore.products.reactivateLabel', { name }) })).toBeVisible();

  for (const shopLang of LANGS) {
    await chooseLang(context, shopLang);
    await page.goto('/');
    await expect(productCard(page, 'ceramic-mug')).toBeVisible();
    await expect(productCard(page, product.id)).toHaveCount(0);
  }
  const order = await page.request.post('/api/trpc/checkout.create', { data: { json: { items: [{ productId: product.id, quantity: 1 }] } } });
  expect(order.status()).toBe(400);
  expect((await order.json()).error.json.message).toBe(`Unknown or unavailable product: ${product.id}`);
});

test('a viewer sees the products but no way to change them', async ({ page }) => {
  const email = uniqueEmail('products-viewer', lang);
  cliCreateUser(email, 'viewer');
  await signIn(page, lang, email, PASSWORD);
  await page.waitForURL(/\/admin\/orders/);
  await page.goto('/admin/products');
  await expect(page.locator(`[data-testid="product-row"][data-product-id="${product.id}"]`)).toBeVisible();
  await expect(page.getByRole('button', { name: msg(lang, 'consoleMore.products.create') })).toHaveCount(0);
  await expect(page.getByRole('button', { name: msg(lang, 'consoleMore.products.edit') })).toHaveCount(0);
});
