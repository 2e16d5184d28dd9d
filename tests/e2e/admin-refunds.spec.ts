// Refunds from the console in Chromium: a full and a partial refund from the order page (the shopper's page
// then says refunded / partially refunded), a large refund approved by a second person (never by its
// maker), and an ABNORMAL refund paid to the payer's debit card from its inbox.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import type * as OTPAuth from 'otpauth';
import { expectNoSeriousA11yViolations } from './axe';
import { cliCreateUser, enrol, PASSWORD, signIn, uniqueEmail } from './admin-support';
import { E2E } from './env';
import { checkoutStatus, createOrder, msg, projectLang, useLang, type Lang } from './support';

test.describe.configure({ mode: 'serial', timeout: 180_000 });

let lang: Lang;
const owner = { email: '', totp: null as OTPAuth.TOTP | null };
const finance = { email: '', totp: null as OTPAuth.TOTP | null };

test.beforeEach(async ({ context }, testInfo) => {
  lang = projectLang(testInfo);
  await useLang(context, lang);
});

test.afterAll(async ({ request }) => {
  await request.delete(`${E2E.simulatorUrl}/_sim/refund-plans/default`);
});

/** A paid order (paid through the simulator's control API, as the phone would): its token and out_trade_no. */
async function paidOrder(request: APIRequestContext, items?: Array<{ productId: string; quantity: number }>) {
  const token = await createOrder(request, items);
  const view = await checkoutStatus(request, token);
  const pay = await request.post(`${E2E.simulatorUrl}/_sim/pay`, { data: { code_url: view.codeUrl } });
  expect(pay.status()).toBe(200);
  await expect.poll(async () => (await checkoutStatus(request, token)).status, { timeout: 30_000 }).toBe('paid');
  return { token, outTradeNo: view.outTradeNo };
}

async function openOrder(page: Page, outTradeNo: string): Promise<void> {
  await page.goto('/admin/orders');
  const box = page.getByRole('searchbox', { name: msg(lang, 'admin.orders.search') });
  await box.fill(outTradeNo);
  await box.press('Enter');
  const isPhone = test.info().project.name === 'phone';
  await expect(page.getByTestId(isPhone ? 'order-card' : 'order-row')).toHaveCount(1);
  await page
    .getByTestId(isPhone ? 'order-card' : 'order-row')
    .first()
    .getByRole('link')
    .first()
    .click();
  await page.waitForURL(/\/admin\/orders\/[0-9a-f-]{36}$/);
}

async function refundFromOrderPage(page: Page, amountYuan: string | null): Promise<void> {
  await page.getByTestId('refund-open').click();
  const dialog = page.getByTestId('refund-dialog');
  await expect(dialog).toBeVisible();
  if (amountYuan !== null) await dialog.getByLabel(msg(lang, 'refunds.dialog.amount')).fill(amountYuan);
  await dialog.getByTestId('refund-submit').click();
  await expect(page.getByTestId('refund-result')).toBeVisible();
}

async function expectOrderStatus(page: Page, status: string): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.reload();
        return page.getByTestId('order-status').textContent();
      },
      { timeout: 60_000, intervals: [1000] },
    )
    .toBe(msg(lang, `admin.orders.statuses.${status}`));
}

test('an owner and a finance user, each with TOTP', async ({ page }) => {
  owner.email = uniqueEmail('refund-owner', lang);
  finance.email = uniqueEmail('refund-finance', lang);
  cliCreateUser(owner.email, 'owner');
  cliCreateUser(finance.email, 'finance');
  await signIn(page, lang, owner.email, PASSWORD);
  owner.totp = await enrol(page, lang, PASSWORD);
  await page.getByRole('button', { name: msg(lang, 'admin.nav.signOut') }).click();
  await page.waitForURL(/\/admin\/sign-in$/);
  await signIn(page, lang, finance.email, PASSWORD);
  finance.totp = await enrol(page, lang, PASSWORD);
});

test('a full refund from the order page: the dialog shows WeChat’s figures, the order and the shopper’s page end refunded', async ({ page, request }) => {
  const { token, outTradeNo } = await paidOrder(request);
  await signIn(page, lang, owner.email, PASSWORD, owner.totp!);
  await page.waitForURL(/\/admin\/orders/);
  await openOrder(page, outTradeNo);
  await page.getByTestId('refund-open').click();
  const dialog = page.getByTestId('refund-dialog');
  await expect(dialog.getByTestId('refund-refundable')).toHaveText('¥69.00');
  await expect(dialog.getByTestId('refund-refunds-left')).toHaveText(msg(lang, 'refunds.dialog.refundsLeftValue', { left: 50, max: 50 }));
  await expect(dialog.getByTestId('refund-days-left')).toHaveText(msg(lang, 'refunds.dialog.daysLeftValue', { days: 364 }));
  // Full amount by default.
  await expect(dialog.getByLabel(msg(lang, 'refunds.dialog.amount'))).toHaveValue('69.00');
  await expectNoSeriousA11yViolations(page);
  await dialog.getByTestId('refund-submit').click();
  await expect(page.getByTestId('refund-result')).toBeVisible();
  await page.keyboard.press('Escape');
  await expectOrderStatus(page, 'refunded');

  await page.goto(`/checkout/${token}`);
  await expect(page.getByTestId('refund')).toContainText(msg(lang, 'checkout.refund.full', { amount: '¥69.00' }));
});

test('a partial refund: partially refunded, what is left refundable, the ¥1 note, and the shopper’s page', async ({ page, request }) => {
  const { token, outTradeNo } = await paidOrder(request);
  await signIn(page, lang, owner.email, PASSWORD, owner.totp!);
  await page.waitForURL(/\/admin\/orders/);
  await openOrder(page, outTradeNo);
  await page.getByTestId('refund-open').click();
  const dialog = page.getByTestId('refund-dialog');
  await dialog.getByLabel(msg(lang, 'refunds.dialog.amount')).fill('0.50');
  await expect(dialog.getByTestId('reason-hidden')).toHaveText(msg(lang, 'refunds.dialog.reasonHidden'));
  await dialog.getByLabel(msg(lang, 'refunds.dialog.amount')).fill('100.00');
  await dialog.getByTestId('refund-submit').click();
  await expect(dialog.getByText(msg(lang, 'refunds.dialog.badAmount'))).toBeVisible();
  await dialog.getByLabel(msg(lang, 'refunds.dialog.amount')).fill('19.00');
  await dialog.getByTestId('refund-submit').click();
  await expect(page.getByTestId('refund-result')).toBeVisible();
  await page.keyboard.press('Escape');
  await expectOrderStatus(page, 'partially_refunded');
  await page.getByTestId('refund-open').click();
  await expect(page.getByTestId('refund-dialog').getByTestId('refund-refundable')).toHaveText('¥50.00');
  await expect(page.getByTestId('refund-dialog').getByTestId('refund-refunds-left')).toHaveText(
    msg(lang, 'refunds.dialog.refundsLeftValue', { left: 49, max: 50 }),
  );

  await page.goto(`/checkout/${token}`);
  await expect(page.getByTestId('refund')).toContainText(msg(lang, 'checkout.refund.partial', { refunded: '¥19.00', amount: '¥69.00' }));
});

test('a large refund waits for a second person: the maker cannot approve it, another approver can', async ({ page, request }) => {
  const { outTradeNo } = await paidOrder(request, [{ productId: 'mooncake-box', quantity: 2 }]);
  await signIn(page, lang, finance.email, PASSWORD, finance.totp!);
  await page.waitForURL(/\/admin\/orders/);
  await openOrder(page, outTradeNo);
  await page.getByTestId('refund-open').click();
  await expect(page.getByTestId('approval-note')).toBeVisible();
  await page.getByTestId('refund-dialog').getByTestId('refund-submit').click();
  await expect(page.getByTestId('refund-result')).toContainText(msg(lang, 'refunds.dialog.pending', { no: '#' }).split('#')[1]!.trim());
  await page.keyboard.press('Escape');

  await page.goto('/admin/refunds');
  await page.getByTestId('inbox-approval').click();
  const row = page.getByTestId('refund-row').filter({ hasText: outTradeNo });
  await expect(row).toHaveAttribute('data-status', 'pending_approval');
  await expectNoSeriousA11yViolations(page);
  await row.getByTestId('approve').click();
  await expect(page.getByTestId('refunds-error')).toHaveText(msg(lang, 'refunds.errors.OWN_REFUND'));
  await page.getByRole('button', { name: msg(lang, 'admin.nav.signOut') }).click();
  await page.waitForURL(/\/admin\/sign-in$/);

  await signIn(page, lang, owner.email, PASSWORD, owner.totp!);
  await page.waitForURL(/\/admin\/orders/);
  await page.goto('/admin/refunds');
  await page.getByTestId('inbox-approval').click();
  await page.getByTestId('refund-row').filter({ hasText: outTradeNo }).getByTestId('approve').click();
  await page.getByTestId('inbox-all').click();
  await expect(page.getByTestId('refund-row').filter({ hasText: outTradeNo })).toHaveAttribute('data-status', 'succeeded', { timeout: 60_000 });
});

test('an ABNORMAL refund is paid to the payer’s debit card from its inbox', async ({ page, request }) => {
  expect((await request.put(`${E2E.simulatorUrl}/_sim/refund-plans/default`, { data: { status: 'ABNORMAL', afterMs: 10 } })).status()).toBe(200);
  const { outTradeNo } = await paidOrder(request);
  await signIn(page, lang, owner.email, PASSWORD, owner.totp!);
  await page.waitForURL(/\/admin\/orders/);
  await openOrder(page, outTradeNo);
  await refundFromOrderPage(page, null);
  // The refund reaches WeChat from a job: the plan must stay until WeChat has taken it (on a loaded machine
  // that can be after the page has answered), or the refund simply succeeds.
  await expect
    .poll(async () => (await (await request.get(`${E2E.simulatorUrl}/_sim/refunds?out_trade_no=${outTradeNo}`)).json()).refunds.length, {
      timeout: 60_000,
    })
    .toBeGreaterThan(0);
  await request.delete(`${E2E.simulatorUrl}/_sim/refund-plans/default`);

  await page.goto('/admin/refunds');
  await page.getByTestId('inbox-abnormal').click();
  await expect(page.getByTestId('inbox-help')).toHaveText(msg(lang, 'refunds.list.help.abnormal'));
  const row = page.getByTestId('refund-row').filter({ hasText: outTradeNo });
  await expect(row).toHaveAttribute('data-status', 'abnormal', { timeout: 60_000 });
  await row.getByTestId('handle-abnormal').click();
  const dialog = page.getByTestId('abnormal-dialog');
  await dialog.getByLabel(msg(lang, 'refunds.abnormal.bank')).selectOption('CMB_DEBIT');
  await dialog.getByLabel(msg(lang, 'refunds.abnormal.account')).fill('6225880112345678');
  await dialog.getByLabel(msg(lang, 'refunds.abnormal.name')).fill('张三');
  await expectNoSeriousA11yViolations(page);
  await dialog.getByTestId('abnormal-submit').click();
  await expect(page.getByTestId('abnormal-done')).toBeVisible();
  await page.keyboard.press('Escape');
  await page.getByTestId('inbox-all').click();
  await expect(page.getByTestId('refund-row').filter({ hasText: outTradeNo })).toHaveAttribute('data-status', 'succeeded', { timeout: 60_000 });
  const atWechat = await (await request.get(`${E2E.simulatorUrl}/_sim/refunds?out_trade_no=${outTradeNo}`)).json();
  expect(JSON.stringify(atWechat)).toContain('5678');
});
