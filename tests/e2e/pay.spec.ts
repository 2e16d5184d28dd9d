import { expect, test } from '@playwright/test';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { E2E } from './env';

async function checkoutStatus(request: import('@playwright/test').APIRequestContext, token: string) {
  const input = encodeURIComponent(JSON.stringify({ json: { token } }));
  const res = await request.get(`/api/trpc/checkout.status?input=${input}`);
  expect(res.ok()).toBeTruthy();
  return (await res.json()).result.data.json as { status: string; codeUrl: string; outTradeNo: string; amountFen: number };
}

test('a shopper buys, scans the QR code off the page, pays on the phone and sees the order paid', async ({ page, context, request }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  const card = page.locator('li', { hasText: '青瓷马克杯' });
  await expect(card.getByTestId('price')).toHaveText('¥69.00');
  await card.getByRole('button', { name: /Buy/ }).click();

  await page.waitForURL(/\/checkout\/[A-Za-z0-9_-]{43}$/);
  const token = page.url().split('/').pop()!;
  await expect(page.getByTestId('amount')).toHaveText('¥69.00');
  await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'awaiting_payment');

  // Read the QR code the way a phone would: from the pixels on screen.
  const qr = page.getByTestId('qr');
  await expect(qr).toBeVisible();
  const png = PNG.sync.read(await qr.screenshot());
  const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  expect(decoded, 'QR code should decode').not.toBeNull();
  const status = await checkoutStatus(request, token);
  expect(decoded!.data).toBe(status.codeUrl);
  expect(decoded!.data).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);

  // The shopper's phone: the simulator's pay page for the scanned code_url.
  const phone = await context.newPage();
  await phone.goto(`${E2E.simulatorUrl}/pay?code_url=${encodeURIComponent(decoded!.data)}`);
  await expect(phone.getByText('¥69.00').first()).toBeVisible();
  await phone.getByRole('button', { name: /Pay/ }).click();
  await expect(phone.getByText(/支付成功|Payment successful/).first()).toBeVisible();

  // Notify → inbox → queue → worker → paid, seen by the checkout page without a reload.
  await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'paid');
  await expect(page.getByTestId('transaction-id')).toHaveText(/^4200\d{24}$/);
  expect((await checkoutStatus(request, token)).status).toBe('paid');
});

test('an unknown checkout token is a 404 page', async ({ page }) => {
  const res = await page.goto(`/checkout/${'A'.repeat(43)}`);
  expect(res?.status()).toBe(404);
  await expect(page.getByText(/Page not found/)).toBeVisible();
});

test('health reports database and queue', async ({ request }) => {
  const res = await request.get('/api/health');
  expect(res.status()).toBe(200);
  const body = await res.json();
  expect(body).toMatchObject({ ok: true, database: { ok: true }, queue: { ok: true } });
});
