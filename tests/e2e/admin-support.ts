// The merchant's side of the end-to-end tests: console users made with the real CLI, sign-in through
// the real pages, TOTP codes computed with otpauth from the secret the enrolment page shows.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type Page } from '@playwright/test';
import * as OTPAuth from 'otpauth';
import { freshCode } from '../helpers/totp-codes';
import { E2E } from './env';
import { msg, type Lang } from './support';

export const PASSWORD = 'e2e long password 1';

export function setupToken(): string {
  return readFileSync(path.resolve(E2E.serverEnv.DATA_DIR!, 'admin-setup-token'), 'utf8').trim();
}

/** `npm run admin -- users:create` against the e2e database. */
export function cliCreateUser(email: string, role: string, password = PASSWORD): string {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'users:create', '--email', email, '--role', role, '--password', password], {
    env: { ...process.env, DATABASE_URL: E2E.databaseUrl, DATA_DIR: E2E.serverEnv.DATA_DIR },
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`users:create failed: ${res.stderr}${res.stdout}`);
  return res.stdout;
}

export const uniqueEmail = (prefix: string, lang: Lang) => `${prefix}-${lang.toLowerCase()}-${Date.now()}@shop.example`;

export function totpFromSecret(secret: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
}

/** Fills the sign-in form; answers the code step when a TOTP is given. */
export async function signIn(page: Page, lang: Lang, email: string, password: string, totp?: OTPAuth.TOTP): Promise<void> {
  await page.goto('/admin/sign-in');
  await page.getByLabel(msg(lang, 'admin.signIn.email')).fill(email);
  await page.getByLabel(msg(lang, 'admin.signIn.password')).fill(password);
  await page.getByRole('button', { name: msg(lang, 'admin.signIn.submit') }).click();
  if (totp) {
    await expect(page.getByRole('heading', { name: msg(lang, 'admin.signIn.codeHeading') })).toBeVisible();
    await page.getByLabel(msg(lang, 'admin.signIn.code'), { exact: true }).fill(await freshCode(totp));
    await page.getByRole('button', { name: msg(lang, 'admin.signIn.verify') }).click();
  }
}

/** Forced enrolment: password, read the secret off the page, answer with a computed code. */
export async function enrol(page: Page, lang: Lang, password: string): Promise<OTPAuth.TOTP> {
  await page.waitForURL(/\/admin\/enrol$/);
  await page.getByLabel(msg(lang, 'admin.enrol.password')).fill(password);
  await page.getByRole('button', { name: msg(lang, 'admin.enrol.start') }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  await expect(page.getByTestId('backup-codes').locator('li')).toHaveCount(10);
  const totp = totpFromSecret(secret);
  await page.getByLabel(msg(lang, 'admin.enrol.code')).fill(await freshCode(totp));
  await page.getByRole('button', { name: msg(lang, 'admin.enrol.verify') }).click();
  await page.waitForURL(/\/admin\/orders/);
  return totp;
}
