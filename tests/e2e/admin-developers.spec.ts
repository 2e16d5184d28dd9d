// The developers area in Chromium: a developer creates an API key (step-up), sees its secret once and
// uses it against the Payments API, revokes it (the API then answers 401); adds a webhook endpoint, sends
// a test event and finds the attempt in the delivery log; reads the API reference. A viewer is refused.
import { spawnSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import type * as OTPAuth from 'otpauth';
import { expectNoSeriousA11yViolations } from './axe';
import { cliCreateUser, enrol, PASSWORD, signIn, uniqueEmail } from './admin-support';
import { E2E } from './env';
import { msg, projectLang, useLang, type Lang } from './support';

// Sign-ins hash argon2id, enrolment and axe runs add up on a shared machine: roomy timeouts.
test.describe.configure({ mode: 'serial', timeout: 300_000 });

let lang: Lang;
const dev = { email: '', totp: null as OTPAuth.TOTP | null };

test.beforeEach(async ({ context }, testInfo) => {
  lang = projectLang(testInfo);
  await useLang(context, lang);
});

async function stepUpIfAsked(page: import('@playwright/test').Page) {
  const dialog = page.getByRole('dialog', { name: msg(lang, 'admin.stepUp.heading') });
  await dialog.waitFor({ timeout: 5_000 }).catch(() => undefined);
  if (await dialog.isVisible()) {
    await dialog.getByLabel(msg(lang, 'admin.stepUp.password')).fill(PASSWORD);
    await dialog.getByRole('button', { name: msg(lang, 'admin.stepUp.submit') }).click();
  }
}

test('a developer creates an API key after step-up, uses it once shown, and revoking it makes the API answer 401', async ({ page, request }) => {
  dev.email = uniqueEmail('dev', lang);
  cliCreateUser(dev.email, 'developer');
  await signIn(page, lang, dev.email, PASSWORD);
  dev.totp = await enrol(page, lang, PASSWORD);
  await page.goto('/admin/developers');
  await expect(page.getByRole('heading', { name: msg(lang, 'developers.heading') })).toBeVisible();
  await expectNoSeriousA11yViolations(page);

  const name = `erp-${Date.now()}`;
  await page.getByLabel(msg(lang, 'developers.keys.name')).fill(name);
  await page.getByLabel('orders:write').check();
  await page.getByRole('button', { name: msg(lang, 'developers.keys.create') }).click();
  await stepUpIfAsked(page);
  const secret = (await page.getByTestId('secret-value').textContent())!.trim();
  expect(secret).toMatch(/^sk_test_/);
  const row = page.getByTestId('api-key-row').filter({ hasText: name });
  await expect(row).toContainText(secret.slice(0, 12));
  await expect(row).not.toContainText(secret);

  const ok = await request.get('/api/v1/orders?limit=1', { headers: { authorization: `Bearer ${secret}` } });
  expect(ok.status()).toBe(200);
  await page.reload();
  // Its last use is shown now (time and IP).
  await expect(page.getByTestId('api-key-row').filter({ hasText: name })).not.toContainText(
    `${msg(lang, 'developers.keys.lastUsed')}: ${msg(lang, 'developers.keys.never')}`,
  );

  await page
    .getByTestId('api-key-row')
    .filter({ hasText: name })
    .getByRole('button', { name: msg(lang, 'developers.keys.revoke') })
    .click();
  await stepUpIfAsked(page);
  await expect(page.getByTestId('api-key-row').filter({ hasText: name })).toContainText(msg(lang, 'developers.keys.state.revoked'));
  const denied = await request.get('/api/v1/orders?limit=1', { headers: { authorization: `Bearer ${secret}` } });
  expect(denied.status()).toBe(401);
  expect((await denied.json()).error.code).toBe('unauthorized');
});

test('a webhook endpoint is added, a test event is attempted and logged, and the API reference lists the routes', async ({ page }) => {
  await signIn(page, lang, dev.email, PASSWORD, dev.totp!);
  await page.waitForURL(/\/admin\/orders/);
  await page.goto('/admin/developers');
  const url = `http://127.0.0.1:9/hooks/${Date.now()}`;
  await page.getByLabel(msg(lang, 'developers.endpoints.url')).fill(url);
  await page.getByLabel('payment.succeeded').check();
  await page.getByRole('button', { name: msg(lang, 'developers.endpoints.create') }).click();
  await stepUpIfAsked(page);
  await expect(page.getByTestId('secret-value')).toHaveText(/^whsec_/);
  const row = page.getByTestId('endpoint-row').filter({ hasText: url });
  // Its answer says it was queued; on a loaded machine a click can land before the freshly rendered row's
  // handler does, so the click is repeated until the page says so.
  await expect(async () => {
    await row.getByRole('button', { name: msg(lang, 'developers.endpoints.test') }).click();
    await expect(page.getByText(msg(lang, 'developers.endpoints.testSent'))).toBeVisible({ timeout: 10_000 });
  }).toPass({ timeout: 60_000 });
  // Nothing listens on port 9: the attempt fails and is logged (the retry schedule goes on).
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('webhook-attempts')).toContainText(url, { timeout: 15_000 });
  }).toPass({ timeout: 90_000 });
  await expectNoSeriousA11yViolations(page);

  await page.getByRole('link', { name: msg(lang, 'developers.apiReference') }).click();
  await expect(page.getByRole('heading', { name: msg(lang, 'developers.reference.heading') })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'POST /orders', exact: true })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'POST /webhook-endpoints/{id}/rotate-secret' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);
});

test('a viewer is refused the developers area', async ({ page }) => {
  const email = uniqueEmail('viewer-dev', lang);
  cliCreateUser(email, 'viewer');
  await signIn(page, lang, email, PASSWORD);
  await page.waitForURL(/\/admin\/orders/);
  await page.goto('/admin/developers');
  await expect(page.getByRole('heading', { name: msg(lang, 'developers.heading') })).toHaveCount(0);
  await expect(page.getByRole('link', { name: msg(lang, 'admin.nav.developers') })).toHaveCount(0);
});

test('`npm run admin -- api-keys:create` prints a working secret once, with the scopes asked for', async ({ request }) => {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/admin.ts', 'api-keys:create', '--name', `cli-${Date.now()}`, '--scopes', 'orders:read'],
    {
      env: { ...process.env, DATABASE_URL: E2E.databaseUrl, DATA_DIR: E2E.serverEnv.DATA_DIR, WECHATPAY_MODE: 'simulator' },
      encoding: 'utf8',
    },
  );
  expect(res.status, res.stderr).toBe(0);
  const secret = /Secret \(shown once\): (sk_test_\S+)/.exec(res.stdout)?.[1];
  expect(secret).toBeTruthy();
  expect((await request.get('/api/v1/orders?limit=1', { headers: { authorization: `Bearer ${secret}` } })).status()).toBe(200);
  const write = await request.post('/api/v1/orders', {
    headers: { authorization: `Bearer ${secret}` },
    data: { merchantOrderNo: `CLI${Date.now()}`, amountFen: 1, description: 'x' },
  });
  expect(write.status()).toBe(403);
});
