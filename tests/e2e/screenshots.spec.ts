// Pictures of every state, in both languages and both viewports, for the README: run with
// `SCREENSHOTS=1 npx playwright test screenshots` (playwright.config.ts leaves this file out otherwise, so ordinary runs leave the tree alone).
import { expect, test } from '@playwright/test';
import { closeStaging, exhaustRateLimits, expireNow, resetRateLimits, stage } from './staging';
import { addToCart, checkout, createOrder, expectStatus, LANGS, MUG, onPhone, readQr, setFaults, shot, TEA, useLang } from './support';

test.beforeEach(resetRateLimits);
test.afterEach(async ({ request }) => setFaults(request, {}));
test.afterAll(async () => {
  await resetRateLimits();
  await closeStaging();
});

for (const lang of LANGS) {
  test(`${lang}: every state`, async ({ page, context, request }, testInfo) => {
    test.setTimeout(120_000);
    await useLang(context, lang);

    // Storefront with a cart.
    await page.goto('/');
    await addToCart(page, MUG.id, 2);
    await addToCart(page, TEA.id);
    await shot(page, testInfo, lang, '01-store-cart');

    // WeChat Pay down while creating the order.
    await setFaults(request, { apiErrorRate: 1 });
    await page.getByTestId('pay').click();
    await expect(page.getByTestId('cart-error')).not.toBeEmpty();
    await shot(page, testInfo, lang, '02-store-wechat-down');
    await setFaults(request, {});

    // Waiting for payment, then "I've paid" too early.
    const token = await checkout(page);
    await expectStatus(page, 'awaiting_payment', 'waiting');
    await shot(page, testInfo, lang, '04-checkout-waiting');
    await page.getByTestId('check').click();
    await expect(page.getByTestId('check-result')).toHaveAttribute('data-found', 'not_paid');
    await shot(page, testInfo, lang, '05-checkout-check-not-paid');

    // Too many orders (the window is used up).
    await exhaustRateLimits();
    await page.goto('/');
    await addToCart(page, MUG.id);
    await page.getByTestId('pay').click();
    await expect(page.getByTestId('cart-error')).not.toBeEmpty();
    await shot(page, testInfo, lang, '03-store-rate-limited');
    await resetRateLimits();
    await page.evaluate(() => localStorage.removeItem('scanpay.cart.v1'));

    // Expired, renewed, paid, then refunded in part and in full.
    await page.goto(`/checkout/${token}`);
    await expireNow(token);
    await page.reload();
    await expectStatus(page, 'awaiting_payment', 'expired');
    await shot(page, testInfo, lang, '06-checkout-expired');
    await page.getByTestId('renew').click();
    await expectStatus(page, 'awaiting_payment', 'waiting');
    await onPhone(context, await readQr(page), 'pay', '¥226.00');
    await expectStatus(page, 'paid', 'paid');
    await shot(page, testInfo, lang, '07-checkout-paid');
    await stage(token, 'partially_refunded');
    await expectStatus(page, 'partially_refunded');
    await shot(page, testInfo, lang, '10-checkout-partially-refunded');
    await stage(token, 'refunded');
    await expectStatus(page, 'refunded');
    await shot(page, testInfo, lang, '11-checkout-refunded');

    // Under review: a late payment, and a mismatch.
    const late = await createOrder(request);
    await page.goto(`/checkout/${late}`);
    await stage(late, 'review_late');
    await expectStatus(page, 'review');
    await shot(page, testInfo, lang, '08-checkout-review-late-payment');
    await stage(late, 'review_mismatch');
    await page.reload(); // same status, new reason: the live stream only reports status changes
    await expect(page.getByTestId('review')).toHaveAttribute('data-reason', 'mismatch');
    await shot(page, testInfo, lang, '09-checkout-review-mismatch');

    // Closed.
    const closed = await createOrder(request);
    await page.goto(`/checkout/${closed}`);
    await stage(closed, 'closed');
    await expectStatus(page, 'closed');
    await shot(page, testInfo, lang, '12-checkout-closed');

    // Not found.
    await page.goto(`/checkout/${'A'.repeat(43)}`);
    await shot(page, testInfo, lang, '13-not-found');
  });
}
