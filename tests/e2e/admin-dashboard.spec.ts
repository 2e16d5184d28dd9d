// The dashboard in Chromium, as a developer (desktop in Chinese, phone in English): the dashboard's periods
// and its tables for screen readers, its delivery and reconciliation cards; an alert's banner, acknowledged
// away; the queue monitor (no wider than a phone's screen) retrying a dead letter; pg-boss's own dashboard
// behind our sign-in. Screenshots of each page go to the test output (and docs/ with SCREENSHOTS=1).
// Discarding and the worker's side of a retry are tests/integration/queue-monitor.test.ts's part.
import { randomUUID } from 'node:crypto';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import type * as OTPAuth from 'otpauth';
import postgres from 'postgres';
import { insertJob } from '@/server/queue/insert-job';
import { cliCreateUser, enrol, PASSWORD, signIn, uniqueEmail } from './admin-support';
import { expectNoSeriousA11yViolations } from './axe';
import { E2E_SERVERS } from './servers';
import { msg, projectLang, shot, useLang, type Lang } from './support';

// Sign-ins hash argon2id on a shared machine: roomy timeouts.
test.describe.configure({ mode: 'serial', timeout: 300_000 });

let lang: Lang;
const dev = { email: '', totp: null as OTPAuth.TOTP | null };
// Made when the file loads, before any test runs: this file runs on the desktop's app (playwright.config.ts).
const sql = postgres(E2E_SERVERS.desktop.databaseUrl, { max: 1, onnotice: () => {} });

test.beforeEach(async ({ context }, testInfo) => {
  lang = projectLang(testInfo);
  await useLang(context, lang);
});
test.afterAll(async () => {
  await sql.end();
});

async function snap(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: info.outputPath(`${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
  await shot(page, info, lang, name);
}

async function signedIn(page: Page) {
  if (!dev.totp) {
    dev.email = uniqueEmail('developer', lang);
    cliCreateUser(dev.email, 'developer');
    await signIn(page, lang, dev.email, PASSWORD);
    dev.totp = await enrol(page, lang, PASSWORD);
  } else {
    await signIn(page, lang, dev.email, PASSWORD, dev.totp);
    await page.waitForURL(/\/admin\/orders/);
  }
}

test('the dashboard shows its figures for today, 7 and 30 days and a custom range, each chart also as a table', async ({ page }, info) => {
  await signedIn(page);
  await page.goto('/admin');
  await expect(page.getByRole('heading', { name: msg(lang, 'monitoring.dashboard.heading') })).toBeVisible();
  await expect(page.getByTestId('kpis')).toContainText(msg(lang, 'monitoring.dashboard.gross'));
  await expect(page.getByTestId('funnel-table').getByRole('rowheader', { name: msg(lang, 'monitoring.dashboard.created') })).toBeVisible();
  await expect(page.getByTestId('learned-table').getByRole('rowheader')).toHaveCount(4);
  await expect(page.getByRole('region', { name: msg(lang, 'monitoring.dashboard.deliveryHeading') })).toBeVisible();
  await expect(page.getByTestId('open-discrepancies')).toBeVisible();
  await snap(page, info, 'dashboard-today');
  await page.getByRole('button', { name: msg(lang, 'monitoring.dashboard.last7') }).click();
  await expect(page).toHaveURL(/period=7/);
  await page.getByText(msg(lang, 'monitoring.dashboard.seriesTable')).first().click();
  await expect(page.getByTestId('series-table').locator('tbody tr')).toHaveCount(7);
  await page.getByRole('button', { name: msg(lang, 'monitoring.dashboard.last30') }).click();
  await expect(page.getByTestId('series-table').locator('tbody tr')).toHaveCount(30);
  await page.getByLabel(msg(lang, 'monitoring.dashboard.from')).fill('2026-11-01');
  await page.getByLabel(msg(lang, 'monitoring.dashboard.to')).fill('2026-11-03');
  await page.getByRole('button', { name: msg(lang, 'monitoring.dashboard.custom') }).click();
  await expect(page).toHaveURL(/period=custom/);
  await expect(page.getByTestId('series-table').locator('tbody tr')).toHaveCount(3);
  await snap(page, info, 'dashboard-custom');
  await expectNoSeriousA11yViolations(page);
});

test('an open alert shows as a banner on every console page until it is acknowledged', async ({ page }, info) => {
  const [row] = await sql<{ id: string }[]>`insert into alerts (kind, message) values ('e2e.test', ${`E2E alert ${randomUUID()}`}) returning id`;
  await signedIn(page);
  await page.goto('/admin/orders');
  await expect(page.getByTestId('alert-banner')).toBeVisible();
  await page.getByTestId('alert-banner').getByRole('link').click();
  await page.waitForURL(/\/admin\/alerts$/);
  const item = page.getByTestId('alert-item').filter({ hasText: 'E2E alert' }).first();
  await snap(page, info, 'alerts');
  await expectNoSeriousA11yViolations(page);
  const open = await sql<{ id: string }[]>`select id from alerts where state = 'open'`;
  expect(open.map((r) => r.id)).toContain(row!.id);
  await item.getByRole('button', { name: msg(lang, 'monitoring.alerts.acknowledge') }).click();
  await expect(item.getByRole('button', { name: msg(lang, 'monitoring.alerts.acknowledge') })).toHaveCount(0);
  // The watchlists may have raised alerts of their own meanwhile (this run's dead letters): out of the way.
  await sql`update alerts set state = 'acknowledged' where state = 'open'`;
  await page.goto('/admin/orders');
  await expect(page.getByTestId('alert-banner')).toHaveCount(0);
  const [audited] = await sql<{ n: number }[]>`select count(*)::int as n from audit_log where action = 'alert.acknowledge' and object_id = ${row!.id}`;
  expect(audited!.n).toBe(1);
});

test('the queue monitor fits the screen and retries a dead letter with a reason', async ({ page }, info) => {
  // A dead letter of stats.refresh, put straight into its dead-letter queue (as pg-boss does after the last
  // retry): sent back, the worker's refresh succeeds, so it does not come back.
  const id = randomUUID();
  const marker = `e2e-${id.slice(0, 8)}`;
  await insertJob(sql, 'stats.refresh.dead', { id, data: { version: 1, marker } }, false);
  await signedIn(page);
  await page.goto('/admin/queues');
  // The first load of the page's client code can take long on a busy CI machine (seen: 19 s to hydrate).
  await expect(page.getByTestId('queue-row').filter({ hasText: 'payment.process-notification' }).first()).toBeVisible({ timeout: 60_000 });
  const row = page.getByTestId('dead-row').filter({ hasText: marker });
  await expect(row).toContainText('stats.refresh.dead');
  // Wide tables scroll inside their own regions; the page itself is no wider than the viewport.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(page.viewportSize()!.width);
  await snap(page, info, 'queues');
  await expectNoSeriousA11yViolations(page);
  await row.getByRole('checkbox').check();
  await page.getByLabel(msg(lang, 'monitoring.queues.reason')).fill('e2e: refresh handler fixed');
  await page.getByRole('button', { name: msg(lang, 'monitoring.queues.retry') }).click();
  await expect(page.getByTestId('queues-message')).toBeVisible();
  await expect(row).toHaveCount(0);
  const [audit] = await sql<{ reason: string | null; after: { queue: string } }[]>`
    select reason, after from audit_log where action = 'queue.dead_letter.retry' and object_id = ${id}`;
  expect(audit).toMatchObject({ reason: 'e2e: refresh handler fixed', after: { queue: 'stats.refresh' } });
});

test("pg-boss's own dashboard answers behind our sign-in only", async ({ page, request }, info) => {
  expect((await request.get('/admin/pgboss', { maxRedirects: 0 })).status()).toBe(303);
  await signedIn(page);
  expect((await page.goto('/admin/pgboss'))?.status()).toBe(200);
  await expect(page.getByText('stats.refresh').first()).toBeVisible();
  await snap(page, info, 'pgboss-dashboard');
});
