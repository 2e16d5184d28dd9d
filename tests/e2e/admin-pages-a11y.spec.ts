// axe on every console page, in both languages, on the desktop and on the phone (the two projects): the
// pages before sign-in (setup while no user exists, sign-in with and without an error), enrolment in both of
// its steps, and every page of the console with its data loaded (dashboard, orders, one order, refunds,
// alerts, queues, reconciliation, products, refund limits, users, audit log, developers, my sessions).
// Serious and critical violations fail (tests/e2e/axe.ts). On the phone every page must also fit the
// screen: nothing wider than the viewport, so nothing needs sideways scrolling or hides under another.
import { expect, test, type Page } from '@playwright/test';
import { freshCode } from '../helpers/totp-codes';
import { cliCreateUser, PASSWORD, signIn, totpFromSecret, uniqueEmail } from './admin-support';
import { expectNoSeriousA11yViolations } from './axe';
import { createOrder, LANGS, msg, projectLang, useLang, type Lang } from './support';

// About 35 axe runs per project (minutes while the system suites share the machine): a roomy timeout
// (nothing here waits on the clock).
test.describe.configure({ mode: 'serial', timeout: 900_000 });

// Not a React hook: the language cookie, set once per language in a loop.
const chooseLang = useLang;

let lang: Lang;
test.beforeEach(async ({ context }, testInfo) => {
  lang = projectLang(testInfo);
  await chooseLang(context, lang);
});

const check = (page: Page, name: string, l: Lang) => expectNoSeriousA11yViolations(page, { label: `${name}, ${l}, ${test.info().project.name}` });

// On the desktop, admin-console.spec.ts runs first and goes through the real setup (checking this page
// with axe in both languages on its way); on the phone this file is the first.
test('the setup page, while no user exists (it redirects to sign-in for good once one does)', async ({ page, context, request }) => {
  const status = await request.get('/api/trpc/setup.status');
  const setupNeeded = (await status.json()).result.data.json.needed as boolean;
  for (const l of LANGS) {
    await chooseLang(context, l);
    await page.goto('/admin/setup');
    if (!setupNeeded) {
      await page.waitForURL(/\/admin\/sign-in$/);
      continue;
    }
    await expect(page.getByLabel(msg(l, 'admin.setup.token'))).toBeVisible();
    await check(page, 'setup', l);
  }
});

test('enrolment and every console page with data, in both languages', async ({ page, context, request }) => {
  await createOrder(request); // the orders list and one order's page have something to show
  const email = uniqueEmail('a11y-owner', lang);
  cliCreateUser(email, 'owner'); // from here on there is a user: sign-in instead of setup
  for (const l of LANGS) {
    await chooseLang(context, l);
    await page.goto('/admin/sign-in');
    await expect(page.getByLabel(msg(l, 'admin.signIn.email'))).toBeVisible();
    await check(page, 'sign-in', l);
    await page.getByLabel(msg(l, 'admin.signIn.email')).fill(`nobody-${Date.now()}@shop.example`);
    await page.getByLabel(msg(l, 'admin.signIn.password')).fill('not the password at all');
    await page.getByRole('button', { name: msg(l, 'admin.signIn.submit') }).click();
    await expect(page.getByTestId('sign-in-error')).toBeVisible();
    await check(page, 'sign-in with an error', l);
  }
  await chooseLang(context, lang);
  await signIn(page, lang, email, PASSWORD);
  await page.waitForURL(/\/admin\/enrol$/);
  await expect(page.getByLabel(msg(lang, 'admin.enrol.password'))).toBeVisible();
  await check(page, 'enrol', lang);
  await page.getByLabel(msg(lang, 'admin.enrol.password')).fill(PASSWORD);
  await page.getByRole('button', { name: msg(lang, 'admin.enrol.start') }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  await check(page, 'enrol, secret and backup codes', lang);
  const totp = totpFromSecret(secret);
  await page.getByLabel(msg(lang, 'admin.enrol.code')).fill(await freshCode(totp));
  await page.getByRole('button', { name: msg(lang, 'admin.enrol.verify') }).click();
  await page.waitForURL(/\/admin\/orders/);

  const rowTestId = test.info().project.name === 'phone' ? 'order-card' : 'order-row';
  await expect(page.getByTestId(rowTestId).first()).toBeVisible({ timeout: 60_000 });
  const orderHref = (await page.getByTestId(rowTestId).first().getByRole('link').first().getAttribute('href'))!;
  expect(orderHref).toMatch(/^\/admin\/orders\/[0-9a-f-]{36}$/);

  // Each page, and what shows it has loaded (never the loading state; pages that may be empty: their title).
  const title = () => page.getByRole('heading', { level: 1 });
  const pages: Array<{ name: string; path: string; ready: () => ReturnType<Page['getByTestId']> }> = [
    { name: 'dashboard', path: '/admin', ready: () => page.getByTestId('kpis') },
    { name: 'orders', path: '/admin/orders', ready: () => page.getByTestId(rowTestId).first() },
    { name: 'order detail', path: orderHref, ready: () => page.getByTestId('order-status') },
    { name: 'refunds', path: '/admin/refunds', ready: title },
    { name: 'alerts', path: '/admin/alerts', ready: title },
    { name: 'queues', path: '/admin/queues', ready: () => page.getByTestId('queue-table') },
    { name: 'reconciliation', path: '/admin/reconciliation', ready: title },
    { name: 'products', path: '/admin/products', ready: () => page.getByTestId('product-row').first() },
    { name: 'refund limits', path: '/admin/limits', ready: () => page.getByTestId('limits-finance') },
    { name: 'users', path: '/admin/users', ready: () => page.getByTestId('user-row').first() },
    { name: 'audit log', path: '/admin/audit', ready: () => page.getByTestId('audit-entry').first() },
    { name: 'developers', path: '/admin/developers', ready: title },
    { name: 'API reference', path: '/admin/developers/api', ready: title },
    { name: 'my sessions', path: '/admin/sessions', ready: () => page.getByTestId('session-row').first() },
  ];
  const isPhone = test.info().project.name === 'phone';
  for (const l of LANGS) {
    await chooseLang(context, l);
    for (const p of pages) {
      await page.goto(p.path);
      await expect(page.locator('html')).toHaveAttribute('lang', l);
      await expect(p.ready()).toBeVisible({ timeout: 60_000 });
      await expect(page.getByRole('status').filter({ hasText: msg(l, 'admin.loading') })).toHaveCount(0);
      await check(page, p.name, l);
      if (isPhone) {
        const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
        expect(widths.page, `${p.name} (${l}) is wider than the phone's screen`).toBeLessThanOrEqual(widths.screen);
      }
    }
  }
});
