// The dashboard and the queue monitor in Chromium, as a developer (desktop in Chinese, phone in English):
// the dashboard's periods and its tables for screen readers; an alert's banner, acknowledged away; a job
// the worker dead-letters, retried from the queue monitor and then discarded with a reason; pg-boss's own
// dashboard behind our sign-in. Screenshots of each page go to the test output (and docs/ with SCREENSHOTS=1).
import { randomUUID } from 'node:crypto';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import type * as OTPAuth from 'otpauth';
import postgres from 'postgres';
import { cliCreateUser, enrol, PASSWORD, signIn, uniqueEmail } from './admin-support';
import { expectNoSeriousA11yViolations } from './axe';
import { E2E } from './env';
import { msg, projectLang, shot, useLang, type Lang } from './support';

// Sign-ins hash argon2id on a shared machine: roomy timeouts.
test.describe.configure({ mode: 'serial', timeout: 300_000 });

let lang: Lang;
const dev = { email: '', totp: null as OTPAuth.TOTP | null };
const sql = postgres(E2E.databaseUrl, { max: 1, onnotice: () => {} });

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

/** A console.export job the worker cannot read: dead-lettered at once. */
async function deadLetter(marker: string): Promise<string> {
  const id = randomUUID();
  await sql.unsafe(
    `insert into pgboss.job (id, name, data, retry_limit, dead_letter, policy) select $1, 'console.export', $2::jsonb, 0, dead_letter, policy from pgboss.queue where name = 'console.export'`,
    [id, JSON.stringify({ version: 99, marker })],
  );
  await expect.poll(async () => (await sql`select 1 from pgboss.job where name = 'console.export.dead' and source_id = ${id}`).length, { timeout: 30_000 }).toBe(1);
  return marker;
}

test('the queue monitor lists every queue with its policy, and retries and discards dead letters', async ({ page }, info) => {
  const marker = `e2e-${randomUUID().slice(0, 8)}`;
  await deadLetter(marker);
  await signedIn(page);
  await page.goto('/admin/queues');
  await expect(page.getByRole('heading', { name: msg(lang, 'monitoring.queues.heading') })).toBeVisible();
  await expect(page.getByTestId('queue-row').filter({ hasText: 'payment.process-notification' }).first()).toBeVisible();
  const row = page.getByTestId('dead-row').filter({ hasText: marker });
  await expect(row).toBeVisible();
  await expect(row).toContainText('console.export');
  await snap(page, info, 'queues');
  await expectNoSeriousA11yViolations(page);

  // force: on the phone the page is wider than the screen and the checkbox sits at its left edge, where
  // Playwright's hit test lands in the queue table above (an open layout bug, noted); the action under test
  // is the retry, not the tap.
  await row.getByRole('checkbox').check({ force: true });
  await page.getByRole('button', { name: msg(lang, 'monitoring.queues.retry') }).click();
  await expect(page.getByTestId('queues-message')).toBeVisible();
  // The dead letter went back to console.export as a new job, and left the list (what a worker then does
  // with the job is tests/integration/queue-monitor.test.ts's part).
  const redriven = async () =>
    (await sql<{ redriven_id: string }[]>`select output->>'as' as redriven_id from pgboss.job where name = 'console.export.dead' and state = 'completed' and output->>'action' = 'retried' and data->>'marker' = ${marker}`)[0]?.redriven_id;
  await expect.poll(redriven).toBeTruthy();
  expect((await sql`select 1 from pgboss.job where name = 'console.export' and id = ${(await redriven())!}::uuid`).length).toBe(1);
  await expect(row).toHaveCount(0);

  // Another one is discarded, with a reason.
  const second = `e2e-${randomUUID().slice(0, 8)}`;
  await deadLetter(second);
  await page.reload();
  const back = page.getByTestId('dead-row').filter({ hasText: second });
  await expect(back).toHaveCount(1);
  await back.getByRole('checkbox').check({ force: true });
  const discard = page.getByRole('button', { name: msg(lang, 'monitoring.queues.discard') });
  await expect(discard).toBeDisabled(); // a reason first
  await page.getByLabel(msg(lang, 'monitoring.queues.reason')).fill('e2e: payload from an old version');
  await discard.click();
  await expect(page.getByTestId('dead-row').filter({ hasText: second })).toHaveCount(0);
  const audit = await sql<{ action: string }[]>`select action from audit_log where action like 'queue.dead_letter.%' and actor_email = ${dev.email} order by id`;
  expect(audit.map((a) => a.action)).toEqual(['queue.dead_letter.retry', 'queue.dead_letter.discard']);
});

test("pg-boss's own dashboard answers behind our sign-in only", async ({ page, request }, info) => {
  const anonymous = await request.get('/admin/pgboss', { maxRedirects: 0 });
  expect(anonymous.status()).toBe(303);
  await signedIn(page);
  const res = await page.goto('/admin/pgboss');
  expect(res?.status()).toBe(200);
  await expect(page.getByText('console.export').first()).toBeVisible();
  await snap(page, info, 'pgboss-dashboard');
});
