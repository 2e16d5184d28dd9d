// Live mode with platform certificates (the merchant configured no WeChat key at all): the app downloads
// /v3/certificates, decrypts them with the APIv3 key, and verifies answers and notifications with them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getCheckoutView } from '@/server/payments/checkout';
import { eventually, startHarness, trpcCall, type Harness } from '../helpers/app-harness';

let h: Harness;

beforeAll(async () => {
  // The harness sets the simulator to sign with its platform certificate only.
  h = await startHarness({ live: true, env: { CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000' } });
});
afterAll(async () => {
  await h?.close();
});

it('trusts the downloaded platform certificate, and a payment goes through end to end', async () => {
  const gateway = h.deps.gateway();
  expect(gateway.mode).toBe('live');
  expect(gateway.verifier.serials()).toEqual([h.credentials.platformCertificate.serial]);

  const created = await trpcCall(h.appUrl, 'checkout.create', { items: [{ productId: 'ceramic-mug', quantity: 1 }] }, 'mutation');
  expect(created.status).toBe(200);
  const view = (await trpcCall(h.appUrl, 'checkout.status', { token: created.data.token })).data;
  await h.simPay(view.codeUrl);
  const paid = await eventually(async () => {
    const v = await getCheckoutView(h.db, created.data.token);
    return v?.status === 'paid' ? v : null;
  });
  expect(paid.transactionId).toMatch(/^4200/);
  // The notification was signed by the certificate and verified with it.
  expect(h.captured.some((c) => c.status === 204 && c.headers['wechatpay-serial'] === h.credentials.platformCertificate.serial)).toBe(true);
});
