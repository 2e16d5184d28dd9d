// Shared steps of the shopper's end-to-end tests: languages, the storefront, the QR code read off the
// screen, the simulator's phone page and control API, and screenshots for the README.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type APIRequestContext, type BrowserContext, type Page, type TestInfo } from '@playwright/test';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { E2E } from './env';

export type Lang = 'zh-CN' | 'en';
export const LANGS: Lang[] = ['zh-CN', 'en'];
const catalogue = (lang: Lang): unknown => JSON.parse(readFileSync(path.resolve(`messages/${lang}.json`), 'utf8'));
const CATALOGUES = { 'zh-CN': catalogue('zh-CN'), en: catalogue('en') };

/** A message of the app's own catalogue, with `{placeholders}` filled in (plain ones only). */
export function msg(lang: Lang, key: string, values: Record<string, string | number> = {}): string {
  const text = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], CATALOGUES[lang]);
  if (typeof text !== 'string') throw new Error(`no message ${key}`);
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
}

/** The language a project's browser asks for (Accept-Language), see playwright.config.ts. */
export function projectLang(testInfo: TestInfo): Lang {
  return testInfo.project.name === 'phone' ? 'en' : 'zh-CN';
}

/** Chooses the language as the switch would: the NEXT_LOCALE cookie. */
export async function useLang(context: BrowserContext, lang: Lang): Promise<void> {
  await context.addCookies([{ name: 'NEXT_LOCALE', value: lang, url: E2E.appUrl }]);
}

export const MUG = { id: 'ceramic-mug', zh: '青瓷马克杯', en: 'Celadon mug', price: '¥69.00', fen: 6900 };
export const TEA = { id: 'longjing-tea', zh: '西湖龙井 50g', en: 'West Lake Longjing tea, 50 g', price: '¥88.00', fen: 8800 };

export function productCard(page: Page, productId: string) {
  return page.locator(`li[data-product-id="${productId}"]`);
}

/** Adds a product from its card (the card's button, then its "+" for more). */
export async function addToCart(page: Page, productId: string, quantity = 1): Promise<void> {
  const card = productCard(page, productId);
  await card.getByRole('button', { name: /加入购物车|to cart/ }).click();
  for (let i = 1; i < quantity; i++) await card.getByRole('button', { name: /增加一件|One more/ }).click();
  await expect(card.getByTestId('quantity')).toHaveText(String(quantity));
}

/** Pays the cart and lands on the checkout page; returns the order's token. */
export async function checkout(page: Page): Promise<string> {
  await page.getByTestId('pay').click();
  await page.waitForURL(/\/checkout\/[A-Za-z0-9_-]{43}$/);
  return page.url().split('/').pop()!;
}

/** Creates an order straight through the API (for tests about the checkout page, not the storefront). */
export async function createOrder(request: APIRequestContext, items = [{ productId: MUG.id, quantity: 1 }]): Promise<string> {
  const res = await request.post('/api/trpc/checkout.create', { data: { json: { items } } });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).result.data.json.token;
}

export interface StatusView {
  status: string;
  codeUrl: string | null;
  outTradeNo: string;
  amountFen: number;
  transactionId: string | null;
}

export async function checkoutStatus(request: APIRequestContext, token: string): Promise<StatusView> {
  const input = encodeURIComponent(JSON.stringify({ json: { token } }));
  const res = await request.get(`/api/trpc/checkout.status?input=${input}`);
  expect(res.ok()).toBeTruthy();
  return (await res.json()).result.data.json;
}

/** Reads the QR code the way a phone would: from the pixels on screen. */
export async function readQr(page: Page): Promise<string> {
  const qr = page.getByTestId('qr');
  await expect(qr).toBeVisible();
  await qr.scrollIntoViewIfNeeded();
  const png = PNG.sync.read(await qr.screenshot());
  const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  expect(decoded, 'the QR code on the page should decode').not.toBeNull();
  expect(decoded!.data).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
  return decoded!.data;
}

/** The shopper's phone: the simulator's page for a scanned code_url, then Pay or Cancel. */
export async function onPhone(context: BrowserContext, codeUrl: string, action: 'pay' | 'cancel', amount = MUG.price): Promise<void> {
  const phone = await context.newPage();
  await phone.goto(`${E2E.simulatorUrl}/pay?code_url=${encodeURIComponent(codeUrl)}`);
  await expect(phone.getByText(amount).first()).toBeVisible();
  if (action === 'pay') {
    await phone.getByRole('button', { name: /Pay/ }).click();
    await expect(phone.getByText(/支付成功|Payment successful/).first()).toBeVisible();
  } else {
    await phone.getByRole('button', { name: /Cancel/ }).click();
    await expect(phone.getByText(/已取消支付|Payment cancelled/).first()).toBeVisible();
  }
  await phone.close();
}

/** What the simulator holds of an order's notifications and their delivery attempts. */
export async function simNotifications(
  request: APIRequestContext,
  outTradeNo: string,
): Promise<{ notifications: Array<{ status: string }>; attempts: Array<{ dropped: boolean }> }> {
  const res = await request.get(`${E2E.simulatorUrl}/_sim/notifications?out_trade_no=${encodeURIComponent(outTradeNo)}`);
  expect(res.status(), await res.text()).toBe(200);
  return res.json();
}

/** Simulator faults (`PUT /_sim/faults`); `{}` clears them all. */
export async function setFaults(request: APIRequestContext, faults: Record<string, unknown>): Promise<void> {
  const res = await request.put(`${E2E.simulatorUrl}/_sim/faults`, { data: faults });
  expect(res.status(), await res.text()).toBe(200);
}

export async function expectStatus(page: Page, status: string, phase?: string): Promise<void> {
  const el = page.getByTestId('status');
  await expect(el).toHaveAttribute('data-status', status);
  if (phase) await expect(el).toHaveAttribute('data-phase', phase);
}

/**
 * With SCREENSHOTS=1, saves a full-page PNG under docs/screenshots/<viewport>-<lang>-<name>.png
 * (the README shows them). Off by default so ordinary runs leave the tree untouched.
 */
export async function shot(page: Page, testInfo: TestInfo, lang: Lang, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return;
  const dir = path.resolve('docs/screenshots');
  mkdirSync(dir, { recursive: true });
  await page.evaluate(() => document.fonts.ready);
  // The caret and the moving countdown are not part of what a screenshot should pin down.
  await page.screenshot({
    path: path.join(dir, `${testInfo.project.name}-${lang}-${name}.png`),
    fullPage: true,
    animations: 'disabled',
    caret: 'hide',
    scale: 'css',
  });
}
