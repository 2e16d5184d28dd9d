// Runs in the phone project only (see playwright.config.ts): one narrow-screen run is enough.
import { devices, expect, test } from '@playwright/test';
import { E2E } from './env';
import { closeStaging, resetRateLimits } from './staging';
import { addToCart, checkout, MUG } from './support';

test.beforeAll(resetRateLimits);
test.afterAll(closeStaging);

test('the pages fit a 320 px wide phone without sideways scrolling', async ({ browser }) => {
  const context = await browser.newContext({ ...devices['Pixel 5'], viewport: { width: 320, height: 640 }, locale: 'zh-CN', baseURL: E2E.appUrl });
  const page = await context.newPage();
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  await page.goto('/');
  await addToCart(page, MUG.id);
  expect(await fits()).toBe(true);
  await checkout(page);
  await expect(page.getByTestId('qr')).toBeVisible();
  expect(await fits()).toBe(true);
  const qrBox = await page.getByTestId('qr').boundingBox();
  expect(qrBox!.width).toBeGreaterThanOrEqual(200); // still large enough to scan
  await context.close();
});
