// Security headers on every page and API answer: a per-request script nonce that Next puts on each of its
// scripts, frame-ancestors 'none' (and a cross-origin page really cannot frame the checkout), nosniff,
// Referrer-Policy, Permissions-Policy; no HSTS while APP_URL is plain http.
import { expect, test, type APIResponse } from '@playwright/test';
import { E2E } from './env';
import { closeStaging, resetRateLimits } from './staging';
import { createOrder } from './support';

test.beforeAll(resetRateLimits);
test.afterAll(closeStaging);

function expectCommonHeaders(res: APIResponse, what: string) {
  const h = res.headers();
  expect(h['x-content-type-options'], what).toBe('nosniff');
  expect(h['x-frame-options'], what).toBe('DENY');
  expect(h['referrer-policy'], what).toMatch(/^(strict-origin-when-cross-origin|no-referrer)$/);
  expect(h['permissions-policy'], what).toContain('camera=()');
  expect(h['permissions-policy'], what).toContain('payment=()');
  expect(h['strict-transport-security'], `${what}: no HSTS over http`).toBeUndefined();
  expect(h['content-security-policy'], what).toContain("frame-ancestors 'none'");
}

test('pages: a fresh script nonce per request, on every script Next writes', async ({ request }) => {
  const token = await createOrder(request);
  const nonces = new Set<string>();
  for (const path of ['/', `/checkout/${token}`, '/nowhere', '/checkout/%ff']) {
    const res = await request.get(path);
    expectCommonHeaders(res, path);
    const csp = res.headers()['content-security-policy'] ?? '';
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce, `${path}: ${csp}`).toBeTruthy();
    nonces.add(nonce!);
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'(;|$)/); // production: no 'unsafe-eval'
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    const scripts = (await res.text()).match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length, path).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag, path).toContain(`nonce="${nonce}"`);
  }
  expect(nonces.size).toBe(4);
  // The checkout URL is a bearer token: it never leaves in a Referer.
  expect((await request.get(`/checkout/${token}`)).headers()['referrer-policy']).toBe('no-referrer');
  expect((await request.get('/')).headers()['referrer-policy']).toBe('strict-origin-when-cross-origin');
});

test('API answers and public files: locked down, nothing may load from them', async ({ request }) => {
  const answers: [string, APIResponse][] = [
    ['/api/health', await request.get('/api/health')],
    ['/api/trpc/catalog.list', await request.get('/api/trpc/catalog.list')],
    ['checkout.create 400', await request.post('/api/trpc/checkout.create', { data: { json: { items: [] } } })],
  ];
  for (const [what, res] of answers) {
    expectCommonHeaders(res, what);
    expect(res.headers()['content-security-policy'], what).toMatch(/^default-src 'none'/);
  }
  expect(answers[2]?.[1].status()).toBe(400);
  const svg = await request.get('/products/mug.svg');
  expect(svg.status()).toBe(200);
  expectCommonHeaders(svg, 'public file');
});

test('another site cannot frame the shop or the checkout', async ({ page, request }) => {
  const token = await createOrder(request);
  // The "other site" is local too (localhost, another port: another origin), so that only our headers
  // can keep the frames out, not the browser's rules for public pages framing local addresses.
  const attacker = 'http://localhost:9';
  await page.route(`${attacker}/**`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: route.request().url().endsWith('/control')
        ? '<!doctype html><title>control</title><p>framed fine</p>'
        : `<!doctype html><title>x</title><iframe name="control" src="${attacker}/control"></iframe>` +
          `<iframe name="shop" src="${E2E.appUrl}/"></iframe><iframe name="checkout" src="${E2E.appUrl}/checkout/${token}"></iframe>`,
    }),
  );
  await page.goto(`${attacker}/`);
  await expect(page.frameLocator('iframe[name="control"]').getByText('framed fine')).toBeVisible();
  for (const name of ['shop', 'checkout']) {
    await expect.poll(() => page.frame({ name })?.url(), name).toMatch(/^chrome-error:/);
    expect(
      await page
        .frame({ name })
        ?.locator('body')
        .textContent()
        .catch(() => ''),
      name,
    ).not.toContain('Scanpay');
  }
});
