import { expect, test } from '@playwright/test';
import { closeStaging, resetRateLimits } from './staging';
import { addToCart, checkout, msg, MUG, projectLang, setFaults } from './support';

test.beforeEach(resetRateLimits);
test.afterAll(async () => {
  await resetRateLimits();
  await closeStaging();
});

test("unknown and malformed order links are a proper 404 page in the shopper's language", async ({ page }, testInfo) => {
  const lang = projectLang(testInfo);
  for (const path of [`/checkout/${'A'.repeat(43)}`, '/checkout/not-a-token', '/checkout/abc%20def', '/nowhere']) {
    const res = await page.goto(path);
    expect(res?.status(), path).toBe(404);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(msg(lang, 'notFound.heading'));
    await expect(page.getByRole('link', { name: msg(lang, 'common.backToShop') })).toBeVisible();
  }
});

test("order creation is rate-limited per client: 429 with a readable message, shown in the shopper's language", async ({ page, request }, testInfo) => {
  const lang = projectLang(testInfo);
  const items = [{ productId: MUG.id, quantity: 1 }];
  // Exhaust the window as a script would (CHECKOUT_RATE_LIMIT_PER_MINUTE=30 in the e2e app).
  let res = await request.post('/api/trpc/checkout.create', { data: { json: { items } } });
  let created = 0;
  while (res.status() === 200 && created < 40) {
    created++;
    res = await request.post('/api/trpc/checkout.create', { data: { json: { items } } });
  }
  expect(res.status()).toBe(429);
  expect(created).toBe(30);
  const body = await res.json();
  expect(body.error.json.message).toMatch(/^Too many orders from your network\. Please try again in \d+ seconds\.$/);

  await page.goto('/');
  await addToCart(page, MUG.id);
  await page.getByTestId('pay').click();
  await expect(page.getByTestId('cart-error')).toHaveText(msg(lang, 'errors.TOO_MANY_REQUESTS'));
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('cart-line')).toHaveCount(1); // nothing lost
  await expect(page.getByTestId('pay')).toBeEnabled();
});

test.describe('WeChat Pay down', () => {
  test.afterEach(async ({ request }) => setFaults(request, {}));

  test('a friendly message, the cart kept, no duplicate order; paying again works once WeChat is back', async ({ page, request }, testInfo) => {
    const lang = projectLang(testInfo);
    const creates: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('checkout.create')) creates.push(r.url());
    });
    await page.goto('/');
    await addToCart(page, MUG.id);

    await setFaults(request, { apiErrorRate: 1 });
    // A double click is one order: the button is disabled at once.
    await page.getByTestId('pay').dblclick();
    await expect(page.getByTestId('pay')).toBeDisabled();
    await expect(page.getByTestId('cart-error')).toHaveText(msg(lang, 'errors.SERVICE_UNAVAILABLE'));
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByTestId('cart-line')).toHaveCount(1);
    expect(creates).toHaveLength(1);

    await setFaults(request, {});
    await checkout(page);
    await expect(page.getByTestId('amount')).toHaveText(MUG.price);
    expect(creates).toHaveLength(2);
  });
});
