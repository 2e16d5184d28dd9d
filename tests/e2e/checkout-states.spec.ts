import { expect, test } from '@playwright/test';
import { closeStaging, expireNow, paidVia, resetRateLimits, stage } from './staging';
import { createOrder, checkoutStatus, expectStatus, msg, MUG, onPhone, projectLang, readQr, setFaults, simNotifications } from './support';

test.beforeAll(resetRateLimits);
test.afterAll(closeStaging);

test('an expired QR code: one click gets a new one (a new attempt), and the new one pays', async ({ page, context, request }, testInfo) => {
  const lang = projectLang(testInfo);
  const token = await createOrder(request);
  await page.goto(`/checkout/${token}`);
  const firstCode = await readQr(page);
  const firstOrderNumber = await page.getByTestId('out-trade-no').textContent();

  await expireNow(token); // what 15 minutes of waiting would do
  await page.reload();
  await expectStatus(page, 'awaiting_payment', 'expired');
  await expect(page.getByTestId('status')).toHaveText(msg(lang, 'checkout.status.expired'));
  await expect(page.getByTestId('qr')).toHaveCount(0);

  await page.getByTestId('renew').click();
  await expectStatus(page, 'awaiting_payment', 'waiting');
  // The new attempt has its own out_trade_no and code_url; the old one was closed at WeChat first.
  const secondCode = await readQr(page);
  expect(secondCode).not.toBe(firstCode);
  await expect(page.getByTestId('out-trade-no')).not.toHaveText(firstOrderNumber!);
  await expect(page.locator('#status-heading')).toBeFocused(); // focus followed the state change, not lost

  await onPhone(context, secondCode, 'pay');
  await expectStatus(page, 'paid', 'paid');
});

test.describe('with notifications dropped', () => {
  test.afterEach(async ({ request }) => setFaults(request, {}));

  test('"I\'ve paid" asks WeChat right away and says what it found', async ({ page, context, request }, testInfo) => {
    const lang = projectLang(testInfo);
    await setFaults(request, { notifyDropRate: 1 });
    const token = await createOrder(request);
    await page.goto(`/checkout/${token}`);
    const codeUrl = await readQr(page);

    // Before paying: nothing found, and the page says so.
    await page.getByTestId('check').click();
    await expect(page.getByTestId('check-result')).toHaveAttribute('data-found', 'not_paid');
    await expect(page.getByTestId('check-result')).toHaveText(msg(lang, 'checkout.found.not_paid'));

    await onPhone(context, codeUrl, 'pay');
    // The notification was sent into the void: the simulator recorded its attempts as dropped.
    const { outTradeNo } = await checkoutStatus(request, token);
    await expect.poll(async () => (await simNotifications(request, outTradeNo)).attempts.length).toBeGreaterThan(0);
    expect((await simNotifications(request, outTradeNo)).attempts.every((a) => a.dropped)).toBe(true);
    await expectStatus(page, 'awaiting_payment', 'waiting');

    await page.getByTestId('check').click();
    await expect(page.getByTestId('check-result')).toHaveAttribute('data-found', 'paid');
    await expect(page.getByTestId('check-result')).toHaveText(msg(lang, 'checkout.found.paid'));
    await expectStatus(page, 'paid', 'paid');
    await expect(page.getByTestId('transaction-id')).toHaveText(/^4200\d{24}$/);
    expect(await paidVia(token)).toBe('shopper');
  });
});

test('cancelling on the phone leaves the order waiting; the same code can still be paid', async ({ page, context, request }) => {
  const token = await createOrder(request);
  await page.goto(`/checkout/${token}`);
  const codeUrl = await readQr(page);
  await onPhone(context, codeUrl, 'cancel');
  // A cancel at the phone is no payment: WeChat sends nothing, and the order still waits.
  const { outTradeNo } = await checkoutStatus(request, token);
  expect((await simNotifications(request, outTradeNo)).notifications).toEqual([]);
  await expectStatus(page, 'awaiting_payment', 'waiting');
  await expect(page.getByTestId('qr')).toBeVisible();
  expect((await checkoutStatus(request, token)).status).toBe('awaiting_payment');

  await onPhone(context, codeUrl, 'pay');
  await expectStatus(page, 'paid', 'paid');
});

test('review, refunds and closing reach the open page live, each with its own explanation', async ({ page, request }, testInfo) => {
  const lang = projectLang(testInfo);
  const merchant = 'Scanpay Demo Store';
  const token = await createOrder(request);
  await page.goto(`/checkout/${token}`);
  await expectStatus(page, 'awaiting_payment', 'waiting');

  await stage(token, 'review_late');
  await expectStatus(page, 'review', 'review');
  await expect(page.getByTestId('review')).toContainText(msg(lang, 'checkout.review.late_payment', { merchant }));
  await expect(page.getByTestId('review')).toContainText(msg(lang, 'checkout.review.next1'));
  await expect(page.getByTestId('qr')).toHaveCount(0);

  await stage(token, 'partially_refunded');
  await expectStatus(page, 'partially_refunded', 'partially_refunded');
  await expect(page.getByTestId('refund')).toContainText(msg(lang, 'checkout.refund.partial', { refunded: '¥23.00', amount: MUG.price }));

  await stage(token, 'refunded');
  await expectStatus(page, 'refunded', 'refunded');
  await expect(page.getByTestId('refund')).toContainText(msg(lang, 'checkout.refund.full', { amount: MUG.price }));

  const other = await createOrder(request);
  await page.goto(`/checkout/${other}`);
  await stage(other, 'closed');
  await expectStatus(page, 'closed', 'closed');
  await expect(page.getByText(msg(lang, 'checkout.closed.body'))).toBeVisible();
  await expect(page.getByRole('link', { name: msg(lang, 'common.backToShop') })).toBeVisible();
});

test('when the live stream is cut, the page falls back to polling and still sees the payment', async ({ page, context, request }) => {
  await page.route('**/api/trpc/checkout.onStatus**', (route) => route.abort());
  const token = await createOrder(request);
  await page.goto(`/checkout/${token}`);
  const codeUrl = await readQr(page);
  await onPhone(context, codeUrl, 'pay');
  await expectStatus(page, 'paid', 'paid');
});
