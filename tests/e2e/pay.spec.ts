import { expect, test } from '@playwright/test';
import { closeStaging, resetRateLimits } from './staging';
import { addToCart, checkout, checkoutStatus, expectStatus, LANGS, msg, MUG, onPhone, productCard, projectLang, readQr, TEA, useLang } from './support';

test.beforeAll(resetRateLimits);
test.afterAll(closeStaging);

for (const lang of LANGS) {
  test(`${lang}: a shopper fills the cart, scans the QR code off the page, pays on the phone and gets a receipt`, async ({
    page,
    context,
    request,
  }, testInfo) => {
    await useLang(context, lang);
    await page.goto('/');
    await expect(page.locator('html')).toHaveAttribute('lang', lang);
    await expect(productCard(page, MUG.id).getByTestId('price')).toHaveText(MUG.price);
    await expect(productCard(page, MUG.id).getByRole('heading')).toHaveText(lang === 'en' ? MUG.en : MUG.zh);
    await addToCart(page, MUG.id, 2);
    await addToCart(page, TEA.id);
    await expect(page.getByTestId('cart-total')).toHaveText('¥226.00');

    // The cart survives a reload.
    await page.reload();
    await expect(page.getByTestId('cart-line')).toHaveCount(2);
    await expect(page.getByTestId('cart-total')).toHaveText('¥226.00');

    const token = await checkout(page);
    await expect(page.getByTestId('amount')).toHaveText('¥226.00');
    await expectStatus(page, 'awaiting_payment', 'waiting');
    await expect(page.getByTestId('status')).toHaveText(msg(lang, 'checkout.status.waiting'));
    await expect(page.getByTestId('instruction')).toHaveText(msg(lang, 'checkout.instruction'));
    await expect(page.getByTestId('merchant')).toHaveText('Scanpay Demo Store');
    await expect(page.getByTestId('countdown')).toHaveText(/^1[45]:\d\d$/);
    await expect(page.getByTestId('qr')).toHaveAttribute('aria-label', msg(lang, 'checkout.qrAlt', { amount: '¥226.00', merchant: 'Scanpay Demo Store' }));
    // WeChat refuses to pay a QR code from the same phone's screen: phones are told so, computers are not.
    await expect(page.getByTestId('phone-warning')).toHaveCount(testInfo.project.name === 'phone' ? 1 : 0);

    const codeUrl = await readQr(page);
    const server = await checkoutStatus(request, token);
    expect(codeUrl).toBe(server.codeUrl);
    await expect(page.getByTestId('out-trade-no')).toHaveText(server.outTradeNo);

    // The QR code is in the very first HTML: no spinner, no client round trip before it.
    const html = await (await request.get(`/checkout/${token}`, { headers: { 'accept-language': lang } })).text();
    expect(html).toMatch(/data-testid="qr"[^>]*>\s*<svg[^>]*>[\s\S]*?<path/);

    // The cart was handed to the order.
    expect(await page.evaluate(() => localStorage.getItem('scanpay.cart.v1'))).toBe('[]');

    await onPhone(context, codeUrl, 'pay', '¥226.00');

    // Notify → inbox → queue → worker → paid, pushed to the open page without a reload.
    await expectStatus(page, 'paid', 'paid');
    await expect(page.getByTestId('status')).toHaveText(msg(lang, 'checkout.status.paid'));
    await expect(page.getByTestId('transaction-id')).toHaveText(/^4200\d{24}$/);
    await expect(page.getByTestId('paid-at')).toBeVisible();
    expect((await checkoutStatus(request, token)).status).toBe('paid');
  });
}

test('the order number has a copy button', async ({ page, context }, testInfo) => {
  const lang = projectLang(testInfo);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto('/');
  await addToCart(page, MUG.id);
  await checkout(page);
  const orderNumber = await page.getByTestId('out-trade-no').textContent();
  await page.getByTestId('copy-order-number').click();
  await expect(page.getByText(msg(lang, 'common.copied'))).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(orderNumber);
});

test('health reports database and queue', async ({ request }) => {
  const res = await request.get('/api/health');
  expect(res.status()).toBe(200);
  const body = await res.json();
  expect(body).toMatchObject({ ok: true, database: { ok: true }, queue: { ok: true } });
});
