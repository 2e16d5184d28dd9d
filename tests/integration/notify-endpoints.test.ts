// The notify endpoint's two entries — the Next route module (app/api/wechatpay/notify/route.ts, behind the
// harness's front) and the production server's node:http entry — give the same answers for the same bytes:
// 204 stored, 401 forged, 413 too large, 415 not JSON.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wechatpayNotificationRejects, wechatpayNotifications } from '@/db/schema';
import { handleNotifyNode } from '@/server/http/notify-node';
import { startHarness, trpcCall, type Harness } from '../helpers/app-harness';
import { buildSignedNotification } from '../helpers/notifications';

let h: Harness;
let fast: Server;
let fastUrl: string;

beforeAll(async () => {
  h = await startHarness({ env: { CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000' } });
  fast = createServer((req, res) => void handleNotifyNode(() => h.deps, req, res));
  await new Promise<void>((resolve) => fast.listen(0, '127.0.0.1', () => resolve()));
  fastUrl = `http://127.0.0.1:${(fast.address() as AddressInfo).port}/api/wechatpay/notify`;
});
afterAll(async () => {
  await new Promise((r) => fast.close(r));
  await h?.close();
});

const entries = () => [
  { name: 'Next route (Web Request)', url: `${h.appUrl}/api/wechatpay/notify` },
  { name: 'node:http fast path', url: fastUrl },
];

async function newAttempt() {
  const created = await trpcCall(h.appUrl, 'checkout.create', { items: [{ productId: 'red-envelope', quantity: 1 }] }, 'mutation');
  return (await trpcCall(h.appUrl, 'checkout.status', { token: created.data.token })).data;
}

describe.each([0, 1])('notify entry %i', (index) => {
  it('stores a valid notification once and answers 204, then 204 again for the redelivery', async () => {
    const entry = entries()[index]!;
    const view = await newAttempt();
    const n = buildSignedNotification(h.credentials, { out_trade_no: view.outTradeNo, amount: view.amountFen });
    const post = () => fetch(entry.url, { method: 'POST', headers: { ...n.headers, 'content-type': 'application/json' }, body: n.body });
    expect((await post()).status).toBe(204);
    expect((await post()).status).toBe(204);
    const [row] = await h.db
      .select()
      .from(wechatpayNotifications)
      .where(eq(wechatpayNotifications.notificationId, JSON.parse(n.body).id));
    expect(row!.deliveries).toBe(2);
  });

  it('answers 401 FAIL to a tampered body, 413 to a body over 64 KB, 415 to a non-JSON content type', async () => {
    const entry = entries()[index]!;
    const view = await newAttempt();
    const n = buildSignedNotification(h.credentials, { out_trade_no: view.outTradeNo, amount: view.amountFen });
    const tampered = await fetch(entry.url, {
      method: 'POST',
      headers: { ...n.headers, 'content-type': 'application/json' },
      body: n.body.replace('"summary":"支付成功"', '"summary":"x"'),
    });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toEqual({ code: 'FAIL', message: 'notification rejected: bad_signature' });

    const big = await fetch(entry.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(65 * 1024) });
    expect(big.status).toBe(413);

    const count = async () =>
      (await h.db.select().from(wechatpayNotificationRejects).where(eq(wechatpayNotificationRejects.reason, 'unsupported_content_type'))).reduce(
        (n, r) => n + r.count,
        0,
      );
    const before = await count();
    const text = await fetch(entry.url, { method: 'POST', headers: { ...n.headers, 'content-type': 'text/plain' }, body: n.body });
    expect(text.status).toBe(415);
    expect(await count()).toBe(before + 1);
  });
});
