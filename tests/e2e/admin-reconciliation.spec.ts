// The reconciliation console in Chromium (issue 16 §3, §4): a finance user (TOTP enrolled at the first
// sign-in) walks the discrepancy inbox — filters, both sides, the proposed fix, an automatic repair — settles
// one with a reason, then reads the day's settlement report and the month (chart and table), in each
// project's language, with no serious accessibility violation.
import { spawnSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { cliCreateUser, enrol, PASSWORD, signIn, uniqueEmail } from './admin-support';
import { expectNoSeriousA11yViolations } from './axe';
import { E2E } from './env';
import { msg, projectLang, useLang, type Lang } from './support';

test.describe.configure({ mode: 'serial', timeout: 240_000 });

let lang: Lang;
const date = new Date(Date.now() + 8 * 3600_000 - 24 * 3600_000).toISOString().slice(0, 10);

test.beforeEach(async ({ context }, testInfo) => {
  lang = projectLang(testInfo);
  await useLang(context, lang);
});

test('finance walks the inbox and the settlement report', async ({ page }) => {
  const seeded = spawnSync(process.execPath, ['--import', 'tsx', 'tests/e2e/reconciliation-seed.ts', date], {
    env: { ...process.env, DATABASE_URL: E2E.databaseUrl },
    encoding: 'utf8',
  });
  expect(seeded.status, seeded.stderr).toBe(0);
  const email = uniqueEmail('finance', lang);
  cliCreateUser(email, 'finance');
  await signIn(page, lang, email, PASSWORD);
  await enrol(page, lang, PASSWORD);

  await page.getByRole('link', { name: msg(lang, 'admin.nav.reconciliation') }).click();
  await page.waitForURL(/\/admin\/reconciliation$/);
  await expect(page.getByRole('heading', { name: msg(lang, 'reconciliation.title'), exact: true })).toBeVisible();

  // Filter by class and day: the open external trade with both sides and its proposed fix.
  await page.getByLabel(msg(lang, 'reconciliation.filters.class'), { exact: true }).selectOption('external_trade');
  await page.getByLabel(msg(lang, 'reconciliation.filters.date'), { exact: true }).fill(date);
  await page.getByTestId('inbox-apply').click();
  const row = page.locator('[data-testid="discrepancy-row"][data-class="external_trade"][data-state="open"]').first();
  await expect(row).toBeVisible();
  await expect(row).toContainText(msg(lang, 'reconciliation.fixes.ignore_external'));
  await expect(row).toContainText('1234');
  await expectNoSeriousA11yViolations(page);

  // A bill payment with no order of ours may also be force-posted (booked from WeChat's query, step-up first).
  await expect(row.getByTestId('act-force_post')).toBeVisible();
  await expect(row.getByTestId('act-received')).toBeVisible();

  // Settling needs a reason.
  await row.getByTestId('act-ignore').click();
  await expect(page.getByTestId('decide-confirm')).toBeDisabled();
  await page.getByTestId('decide-reason').fill('not a trade of this shop');
  await page.getByTestId('decide-confirm').click();
  await page.getByLabel(msg(lang, 'reconciliation.filters.state'), { exact: true }).selectOption('ignored');
  await page.getByTestId('inbox-apply').click();
  await expect(page.locator('[data-testid="discrepancy-row"][data-class="external_trade"][data-state="ignored"]').first()).toContainText(
    'not a trade of this shop',
  );

  // The automatic repair is listed with what it did.
  await page.getByLabel(msg(lang, 'reconciliation.filters.class'), { exact: true }).selectOption('fee_mismatch');
  await page.getByLabel(msg(lang, 'reconciliation.filters.state'), { exact: true }).selectOption('auto_resolved');
  await page.getByTestId('inbox-apply').click();
  await expect(page.locator('[data-testid="discrepancy-row"][data-class="fee_mismatch"]').first()).toContainText('adopted_billed_fee');

  // The day's report: three columns and their differences, fund accounts, matched share.
  await page.getByTestId('tab-report').click();
  await page.getByLabel(msg(lang, 'reconciliation.report.date'), { exact: true }).fill(date);
  await page.getByTestId('report-show').click();
  await expect(page.getByTestId('settlement-table')).toBeVisible();
  for (const col of ['ledger', 'trade', 'fund'])
    await expect(page.getByRole('columnheader', { name: msg(lang, `reconciliation.report.${col}`), exact: true })).toBeVisible();
  await expect(page.getByTestId('row-netFen')).toBeVisible();
  await expect(page.getByTestId('fund-table')).toContainText('BASIC');
  await expect(page.getByTestId('matched-percent')).toContainText('%');
  await expectNoSeriousA11yViolations(page);

  // The month: the chart's figures as a table, and a CSV.
  await page.getByTestId('tab-month').click();
  await page.getByRole('textbox', { name: msg(lang, 'reconciliation.month.month'), exact: true }).fill(date.slice(0, 7));
  await page.getByRole('button', { name: msg(lang, 'reconciliation.report.show') }).click();
  await expect(page.getByTestId('month-table')).toContainText(date);
  await expect(page.getByTestId('month-csv')).toHaveAttribute('href', /^data:text\/csv/);
  await expectNoSeriousA11yViolations(page);
});
