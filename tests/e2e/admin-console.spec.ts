// The merchant console in Chromium, on the desktop in Chinese: first owner from the setup token (this file
// runs first on its app; the CLI if a user exists already), forced TOTP enrolment, sign-in with a
// code, lockout, search by each id kind, filters in the URL, one order's timeline with the notification
// and the active query, "Sync now", role denial and revoking a session.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import type * as OTPAuth from 'otpauth';
import { cliCreateUser, enrol, PASSWORD, setupToken, signIn, uniqueEmail } from './admin-support';
import { expectNoSeriousA11yViolations } from './axe';
import { checkoutStatus, createOrder, LANGS, msg, onPhone, projectLang, setFaults, shot, useLang, type Lang } from './support';

// Serial: each step builds on the last (the owner, their TOTP). Sign-ins hash argon2id and the machine is shared: roomy timeouts.
test.describe.configure({ mode: 'serial', timeout: 120_000 });

// Not a React hook: the language cookie, set once per language in a loop.
const chooseLang = useLang;

let lang: Lang;
const owner = { email: '', totp: null as OTPAuth.TOTP | null };
let paidOutTradeNo = '';

test.beforeEach(async ({ context }, testInfo) => {
  lang = projectLang(testInfo);
  await useLang(context, lang);
});

test.afterAll(async ({ request }) => {
  await setFaults(request, {});
});

test('first owner: the setup page takes the one-time token from the server log (never a default account)', async ({ page, request }) => {
  owner.email = uniqueEmail('owner', lang);
  const status = await request.get('/api/trpc/setup.status');
  const needed = (await status.json()).result.data.json.needed as boolean;
  if (needed) {
    for (const l of LANGS) {
      await chooseLang(page.context(), l);
      await page.goto('/admin/setup');
      await expect(page.getByLabel(msg(l, 'admin.setup.token'))).toBeVisible();
      await expectNoSeriousA11yViolations(page, { label: `setup, ${l}, ${test.info().project.name}` });
    }
    await chooseLang(page.context(), lang);
    await page.goto('/admin/orders');
    await page.waitForURL(/\/admin\/setup$/);
    await shot(page, test.info(), lang, 'admin-01-setup');
    await page.getByLabel(msg(lang, 'admin.setup.token')).fill('not-the-token-at-all');
    await page.getByLabel(msg(lang, 'admin.setup.email')).fill(owner.email);
    await page.getByLabel(msg(lang, 'admin.setup.password')).fill(PASSWORD);
    await page.getByRole('button', { name: msg(lang, 'admin.setup.submit') }).click();
    await expect(page.getByTestId('setup-error')).toHaveText(msg(lang, 'admin.setup.invalid'));
    await page.getByLabel(msg(lang, 'admin.setup.token')).fill(setupToken());
    await page.getByRole('button', { name: msg(lang, 'admin.setup.submit') }).click();
    await expect(page.getByTestId('setup-done')).toBeVisible();
  } else {
    // The other project already created the first owner: the setup page is gone for good.
    await page.goto('/admin/setup');
    await page.waitForURL(/\/admin\/sign-in$/);
    expect(cliCreateUser(owner.email, 'owner')).toContain('Two-factor enrolment is required');
  }
  const again = await request.post('/api/trpc/setup.complete', {
    data: { json: { token: 'x'.repeat(24), email: 'intruder@example.test', password: 'x'.repeat(16) } },
  });
  expect(again.status()).toBe(400);
});

test('an owner must enrol TOTP at the first sign-in, and signs in with a code afterwards', async ({ page }) => {
  await signIn(page, lang, owner.email, PASSWORD);
  await expect(page.getByRole('heading', { name: msg(lang, 'admin.enrol.heading') })).toBeVisible();
  await shot(page, test.info(), lang, 'admin-02-enrol');
  // Nothing else is reachable before enrolment.
  await page.goto('/admin/orders');
  await page.waitForURL(/\/admin\/enrol$/);
  owner.totp = await enrol(page, lang, PASSWORD);
  await expect(page.getByTestId('signed-in-as')).toContainText(owner.email);
  await page.getByRole('button', { name: msg(lang, 'admin.nav.signOut') }).click();
  await page.waitForURL(/\/admin\/sign-in$/);
  await signIn(page, lang, owner.email, PASSWORD, owner.totp);
  await page.waitForURL(/\/admin\/orders/);
  await expect(page.getByRole('heading', { name: msg(lang, 'admin.orders.heading') })).toBeVisible();
});

test('five wrong passwords lock the account, even against the right one', async ({ page }) => {
  const email = uniqueEmail('support', lang);
  cliCreateUser(email, 'support');
  for (let i = 0; i < 5; i++) {
    await signIn(page, lang, email, 'definitely wrong pw');
    await expect(page.getByTestId('sign-in-error')).toHaveText(i < 4 ? msg(lang, 'admin.signIn.invalid') : /.+/);
  }
  await signIn(page, lang, email, PASSWORD);
  await expect(page.getByTestId('sign-in-error')).toHaveText(msg(lang, 'admin.signIn.locked'));
  await shot(page, test.info(), lang, 'admin-03-sign-in-locked');
  await expect(page).toHaveURL(/\/admin\/sign-in$/);
});

async function ownerPage(page: Page): Promise<void> {
  await signIn(page, lang, owner.email, PASSWORD, owner.totp!);
  await page.waitForURL(/\/admin\/orders/);
}

async function search(page: Page, value: string): Promise<void> {
  const box = page.getByRole('searchbox', { name: msg(lang, 'admin.orders.search') });
  await box.fill(value);
  await box.press('Enter');
}

const rows = (page: Page, isPhone: boolean) => page.getByTestId(isPhone ? 'order-card' : 'order-row');

test('search by every id kind, filters in the URL, the timeline with notification and query, and Sync now', async ({ page, context, request }, testInfo) => {
  test.setTimeout(300_000);
  const isPhone = testInfo.project.name === 'phone';
  // A payment whose notifications are lost: only an active query can learn it.
  await setFaults(request, { notifyDropRate: 1 });
  const token = await createOrder(request);
  const before = await checkoutStatus(request, token);
  await onPhone(context, before.codeUrl!, 'pay');

  await ownerPage(page);
  await search(page, before.outTradeNo);
  await expect(page.getByTestId('search-kind')).toHaveText(msg(lang, 'admin.orders.searchAs', { kind: msg(lang, 'admin.orders.kinds.out_trade_no') }));
  await expect(rows(page, isPhone)).toHaveCount(1);
  await expect(page).toHaveURL(new RegExp(`q=${before.outTradeNo}`));
  await rows(page, isPhone).first().getByRole('link').first().click();
  await page.waitForURL(/\/admin\/orders\/[0-9a-f-]{36}$/);
  const orderId = page.url().split('/').pop()!;
  await expect(page.getByTestId('order-status')).toHaveText(msg(lang, 'admin.orders.statuses.awaiting_payment'));

  await page.getByTestId('sync-now').click();
  await expect(page.getByTestId('sync-result')).toContainText('paid');
  await expect(page.getByTestId('order-status')).toHaveText(msg(lang, 'admin.orders.statuses.paid'));
  await expect(page.locator('[data-testid="timeline-entry"][data-kind="event"][data-source="query"]').first()).toBeVisible();
  await expect(page.locator('[data-testid="timeline-entry"][data-kind="admin"]').first()).toContainText('order.sync');

  // WeChat keeps retrying the notification; once it gets through it joins the same timeline. Its retries
  // space out (15 s, 15 s, 30 s, 3 min, 10 min … scaled by SIM_TIME_SCALE), so on a slow machine, where the
  // steps above take long, the next one can be almost two minutes away.
  await setFaults(request, {});
  await expect(async () => {
    await page.reload();
    await expect(page.locator('[data-testid="timeline-entry"][data-kind="notification"]').first()).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 150_000 });
  await expect(page.locator('[data-testid="timeline-entry"][data-kind="notification"]').first()).toContainText('TRANSACTION.SUCCESS');
  await shot(page, testInfo, lang, 'admin-05-order-timeline');

  const paid = await checkoutStatus(request, token);
  expect(paid.status).toBe('paid');
  paidOutTradeNo = before.outTradeNo;
  // Every other id kind finds the same order.
  for (const [value, kind] of [
    [orderId, 'order_id'],
    [paid.transactionId!, 'transaction_id'],
    [token, 'token'],
  ] as const) {
    await page.goto('/admin/orders');
    await search(page, value);
    await expect(page.getByTestId('search-kind')).toHaveText(msg(lang, 'admin.orders.searchAs', { kind: msg(lang, `admin.orders.kinds.${kind}`) }));
    await expect(rows(page, isPhone)).toHaveCount(1);
    await expect(rows(page, isPhone).first().getByRole('link').first()).toHaveAttribute('href', `/admin/orders/${orderId}`);
  }
  await page.goto('/admin/orders');
  await search(page, '¥69.00');
  await expect(page.getByTestId('search-kind')).toHaveText(msg(lang, 'admin.orders.searchAs', { kind: msg(lang, 'admin.orders.kinds.amount') }));
  await expect(rows(page, isPhone).first()).toBeVisible();

  // Filters live in the URL: a shared link shows the same list.
  await page.goto('/admin/orders?status=paid&via=query');
  await expect(rows(page, isPhone).first()).toBeVisible();
  await shot(page, testInfo, lang, 'admin-04-orders');
  await page.goto('/admin/orders?status=refunded&q=' + before.outTradeNo);
  await expect(page.getByText(msg(lang, 'admin.orders.empty'))).toBeVisible();
});

test('the filtered list exports to CSV through a job, with progress and a download link', async ({ page }) => {
  await ownerPage(page);
  await page.goto(`/admin/orders?q=${paidOutTradeNo}`);
  await expect(page.getByTestId('search-kind')).toBeVisible();
  await page.getByTestId('export').click();
  await expect(page.getByTestId('export-done')).toBeVisible({ timeout: 30_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
  const text = readFileSync((await download.path())!, 'utf8');
  expect(text.startsWith('\uFEFF')).toBe(true);
  const lines = text.slice(1).split('\r\n').filter(Boolean);
  expect(lines).toHaveLength(2);
  expect(lines[0]!.split(',')).toContain('amount_fen');
  expect(lines[1]).toContain(`"${paidOutTradeNo}"`);
  expect(lines[1]).toMatch(/,69\.00,6900,/);
  expect(lines[1]).toContain('"paid","query"');
});

test('a viewer is denied what their role does not allow, on the page and at the API', async ({ page, request }) => {
  const email = uniqueEmail('viewer', lang);
  cliCreateUser(email, 'viewer');
  await signIn(page, lang, email, PASSWORD);
  await page.waitForURL(/\/admin\/orders/);
  await expect(page.getByRole('link', { name: msg(lang, 'admin.nav.users') })).toHaveCount(0);
  await page.goto('/admin/users');
  await expect(page.getByTestId('forbidden')).toBeVisible();
  await shot(page, test.info(), lang, 'admin-08-forbidden');
  const res = await page.request.post('/api/trpc/admin.users.setActive', { data: { json: { userId: 'x', active: false } } });
  expect(res.status()).toBe(403);
  const anonymous = await request.get('/api/trpc/admin.users.list');
  expect(anonymous.status()).toBe(401);
});

test('an owner revokes another of their sessions: that device is signed out', async ({ page, browser }) => {
  const other = await browser.newContext();
  await other.addCookies([{ name: 'NEXT_LOCALE', value: lang, url: test.info().project.use.baseURL! }]);
  const otherPage = await other.newPage();
  await signIn(otherPage, lang, owner.email, PASSWORD, owner.totp!);
  await otherPage.waitForURL(/\/admin\/orders/);

  await ownerPage(page);
  await page.getByRole('link', { name: msg(lang, 'admin.nav.sessions') }).click();
  await page.waitForURL(/\/admin\/sessions$/);
  const revocable = page.getByTestId('session-row').filter({ has: page.getByRole('button', { name: msg(lang, 'admin.sessions.revoke') }) });
  // The other device's session (and any left from earlier tests) can be revoked; this one cannot.
  await expect(revocable.first()).toBeVisible();
  await expect(page.getByTestId('session-row').filter({ hasText: msg(lang, 'admin.sessions.current') })).toHaveCount(1);
  const count = await revocable.count();
  for (let i = 0; i < count; i++) {
    await revocable
      .first()
      .getByRole('button', { name: msg(lang, 'admin.sessions.revoke') })
      .click();
    await expect(revocable).toHaveCount(count - i - 1);
  }
  await otherPage.goto('/admin/orders');
  await otherPage.waitForURL(/\/admin\/sign-in$/);
  await other.close();
  await shot(page, test.info(), lang, 'admin-09-sessions');
  await page.goto('/admin/users');
  await expect(page.getByTestId('user-row').first()).toBeVisible();
  await shot(page, test.info(), lang, 'admin-06-users');
  await page.goto('/admin/audit');
  await expect(page.getByTestId('audit-entry').first()).toBeVisible();
  await page.getByRole('button', { name: msg(lang, 'admin.audit.verify') }).click();
  await expect(page.getByTestId('chain-result')).toHaveAttribute('role', 'status'); // intact, not the red alert
  await shot(page, test.info(), lang, 'admin-07-audit');
});
