import { expect, test } from '@playwright/test';
import { closeStaging, resetRateLimits } from './staging';
import { addToCart, checkout, msg, MUG, projectLang, type Lang } from './support';

test.beforeAll(resetRateLimits);
test.afterAll(closeStaging);

test('the language follows Accept-Language, and the visible switch changes it for good (cookie)', async ({ page, context }, testInfo) => {
  const lang = projectLang(testInfo);
  const other: Lang = lang === 'en' ? 'zh-CN' : 'en';
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('lang', lang);
  await expect(page.getByText(msg(lang, 'store.tagline'))).toBeVisible();

  const switcher = page.getByTestId('language-switch');
  await expect(switcher.getByRole('button', { name: lang === 'en' ? 'English' : '中文' })).toHaveAttribute('aria-pressed', 'true');
  await switcher.getByRole('button', { name: other === 'en' ? 'English' : '中文' }).click();
  await expect(page.locator('html')).toHaveAttribute('lang', other);
  await expect(page.getByText(msg(other, 'store.tagline'))).toBeVisible();
  expect((await context.cookies()).find((c) => c.name === 'NEXT_LOCALE')?.value).toBe(other);

  // It sticks: across a reload and on the checkout page.
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('lang', other);
  await addToCart(page, MUG.id);
  await checkout(page);
  await expect(page.locator('html')).toHaveAttribute('lang', other);
  await expect(page.getByTestId('status')).toHaveText(msg(other, 'checkout.status.waiting'));
});

test('keyboard only: skip link first, visible focus, add to cart, pay, and an announced status', async ({ page }, testInfo) => {
  const lang = projectLang(testInfo);
  await page.goto('/');
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: msg(lang, 'common.skipToContent') });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();

  const add = page.locator(`li[data-product-id="${MUG.id}"]`).getByRole('button', { name: /加入购物车|to cart/ });
  await add.focus();
  // The focus ring is drawn (3 px solid) — never removed.
  expect(await add.evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
  await page.keyboard.press('Enter');
  // Focus moved to the stepper's "+" that replaced the button, so Enter again adds one more.
  await page.keyboard.press('Enter');
  await expect(page.locator(`li[data-product-id="${MUG.id}"]`).getByTestId('quantity')).toHaveText('2');
  await page.getByTestId('pay').focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/checkout\//);

  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  const status = page.getByRole('status').filter({ has: page.getByText(msg(lang, 'checkout.status.waiting')) });
  await expect(status).toHaveAttribute('aria-live', 'polite');
  await expect(page.getByRole('img', { name: msg(lang, 'checkout.qrAlt', { amount: '¥138.00', merchant: 'Scanpay Demo Store' }) })).toBeVisible();
  // Every control on the page is reachable with Tab.
  const check = page.getByTestId('check');
  for (let i = 0; i < 15 && !(await check.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(check).toBeFocused();
});
