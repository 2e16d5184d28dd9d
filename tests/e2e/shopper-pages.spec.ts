// Every page a shopper can see — storefront (empty, with a cart, with a refused order), each checkout
// state, the 404 and the error page — in both languages, in each project's viewport (desktop and phone):
// zero serious or critical axe violations, no Content Security Policy violation anywhere, and the texts in
// the shopper's language.
import { expect, test } from '@playwright/test';
import { expectNoSeriousA11yViolations } from './axe';
import { watchCsp } from './csp';
import { closeStaging, exhaustRateLimits, expireNow, resetRateLimits, stage, withBrokenCheckoutReads } from './staging';
import { addToCart, checkout, createOrder, expectStatus, LANGS, msg, MUG, productCard, readQr, TEA, useLang } from './support';

test.beforeEach(resetRateLimits);
test.afterAll(async () => {
  await resetRateLimits();
  await closeStaging();
});

for (const lang of LANGS) {
  test(`${lang}: every shopper page is accessible and runs under the CSP`, async ({ page, context, request }, testInfo) => {
    // Every shopper page with axe: about 1.5–2 min while the system suites share the machine; room to spare.
    test.setTimeout(300_000);
    const csp = await watchCsp(page);
    await useLang(context, lang);
    const check = (what: string) => expectNoSeriousA11yViolations(page, { label: `${what} (${lang}, ${testInfo.project.name})` });

    await page.goto('/');
    await expect(page.locator('html')).toHaveAttribute('lang', lang);
    await check('storefront');
    await addToCart(page, MUG.id, 2); // the page is hydrated and its scripts run under the CSP
    await addToCart(page, TEA.id);
    await check('storefront with a cart');

    await createOrder(request); // opens this client's rate-limit window
    await exhaustRateLimits();
    await page.getByTestId('pay').click();
    await expect(page.getByTestId('cart-error')).toHaveText(msg(lang, 'errors.TOO_MANY_REQUESTS'));
    await check('storefront, order refused');
    await resetRateLimits();

    const token = await checkout(page);
    await expectStatus(page, 'awaiting_payment', 'waiting');
    await readQr(page); // qrcode.react drew a readable code
    await check('checkout waiting');

    await expireNow(token);
    await page.reload();
    await expectStatus(page, 'awaiting_payment', 'expired');
    await check('checkout expired');

    await page.getByTestId('renew').click(); // a mutation through tRPC under connect-src 'self'
    await expectStatus(page, 'awaiting_payment', 'waiting');
    await stage(token, 'paid'); // arrives over the live stream
    await expectStatus(page, 'paid', 'paid');
    await check('checkout paid');
    await stage(token, 'partially_refunded');
    await expectStatus(page, 'partially_refunded', 'partially_refunded');
    await check('checkout partially refunded');
    await stage(token, 'refunded');
    await expectStatus(page, 'refunded', 'refunded');
    await check('checkout refunded');

    const noCode = await createOrder(request);
    await stage(noCode, 'no_code');
    await page.goto(`/checkout/${noCode}`);
    await expectStatus(page, 'awaiting_payment', 'unavailable');
    await check('checkout without a QR code');

    const review = await createOrder(request);
    await stage(review, 'review_late');
    await page.goto(`/checkout/${review}`);
    await expectStatus(page, 'review', 'review');
    await check('checkout in review (late payment)');
    await stage(review, 'review_mismatch');
    await page.reload();
    await expect(page.getByTestId('review')).toHaveAttribute('data-reason', 'mismatch');
    await check('checkout in review (mismatch)');

    const closed = await createOrder(request);
    await stage(closed, 'closed');
    await page.goto(`/checkout/${closed}`);
    await expectStatus(page, 'closed', 'closed');
    await check('checkout closed');

    // Three ways to a missing page, one page: axe checks it once.
    for (const path of [`/checkout/${'A'.repeat(43)}`, '/nowhere', '/checkout/%ff']) {
      expect((await page.goto(path))?.status(), path).toBe(404);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(msg(lang, 'notFound.heading'));
    }
    await check('404');

    await withBrokenCheckoutReads(async () => {
      expect((await page.goto(`/checkout/${closed}`))?.status()).toBe(500);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(msg(lang, 'errorPage.heading'));
      await check('error page');
    });

    expect(csp.violations, 'Content Security Policy violations').toEqual([]);
  });

  test(`${lang}: product texts, the cart and the checkout are in the shopper's language`, async ({ page, context }) => {
    await useLang(context, lang);
    const other = lang === 'en' ? 'zh-CN' : 'en';
    const texts = {
      'zh-CN': { name: MUG.zh, tagline: '手工施釉，350 毫升', description: /^龙泉青瓷釉色/, order: `${MUG.zh} 等3件商品`, tea: TEA.zh },
      en: { name: MUG.en, tagline: 'Hand-glazed, 350 ml', description: /^Longquan celadon glaze/, order: `${MUG.en} and 2 more items`, tea: TEA.en },
    } as const;
    const mine = texts[lang];
    const theirs = texts[other];

    await page.goto('/');
    const card = productCard(page, MUG.id);
    await expect(card.getByRole('heading')).toHaveText(mine.name);
    await expect(card.getByTestId('tagline')).toHaveText(mine.tagline);
    await expect(card.getByTestId('product-description')).toHaveText(mine.description);
    // Nothing of the other language on the storefront: no names, taglines or descriptions.
    const store = await page.getByRole('main').textContent();
    expect(store).not.toContain(theirs.name);
    expect(store).not.toContain(theirs.tagline);
    // The button's accessible name starts with its visible text (WCAG 2.5.3 label in name).
    await expect(card.getByRole('button', { name: msg(lang, 'store.addToCartLabel', { name: mine.name }), exact: true })).toHaveText(
      msg(lang, 'store.addToCart'),
    );

    await addToCart(page, MUG.id, 2);
    await addToCart(page, TEA.id);
    await expect(page.getByTestId('cart-line').first()).toContainText(mine.name);
    await checkout(page);
    await expect(page.getByTestId('description')).toHaveText(mine.order);
    const summary = page.locator('section[aria-labelledby="summary-heading"]');
    await expect(summary.getByRole('listitem')).toHaveText([new RegExp(`^${mine.name} × 2`), new RegExp(`^${escapeRegExp(mine.tea)} × 1`)]);
    expect(await page.getByRole('main').textContent()).not.toContain(theirs.name);
  });
}

test('a cart above the order limit says so, cannot be paid, and can be brought back under it', async ({ page, request }, testInfo) => {
  const lang = testInfo.project.name === 'phone' ? 'en' : 'zh-CN';
  const MOONCAKE = 'mooncake-box'; // ¥128.00: eight are ¥1,024.00, above the e2e app's ¥1,000.00
  await page.goto('/');
  await page.evaluate((id) => localStorage.setItem('scanpay.cart.v1', JSON.stringify([{ productId: id, quantity: 8 }])), MOONCAKE);
  await page.reload();
  await expect(page.getByTestId('cart-total')).toHaveText('¥1,024.00');
  await expect(page.getByTestId('cart-over-limit')).toHaveText(msg(lang, 'store.overLimit', { max: '¥1,000.00' }));
  await expect(page.getByTestId('pay')).toBeDisabled();
  await expectNoSeriousA11yViolations(page, { label: `storefront over the limit (${lang})` });

  await productCard(page, MOONCAKE)
    .getByRole('button', { name: /减少一件|One fewer/ })
    .click();
  await expect(page.getByTestId('cart-total')).toHaveText('¥896.00');
  await expect(page.getByTestId('cart-over-limit')).toHaveCount(0);
  await expect(page.getByTestId('pay')).toBeEnabled();

  // The server holds the line whatever the page does.
  const res = await request.post('/api/trpc/checkout.create', { data: { json: { items: [{ productId: MOONCAKE, quantity: 8 }] } } });
  expect(res.status()).toBe(400);
  expect((await res.json()).error.json.message).toBe("The order total ¥1024.00 is above this shop's limit of ¥1000.00 per order");
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
