// The Payments API's orders and events against the real simulator: create (checkout page, merchantOrderNo
// uniqueness), get, list with cursors, close, sync; keys (revoked, expired, scopes); rate limit.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiKeys, orders } from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { revokeApiKey, rollApiKey } from '@/server/api-keys/keys';
import { Order, OrderList } from '@/server/api/schemas';
import { getCheckoutView } from '@/server/payments/checkout';
import { api, makeKey } from '../helpers/api';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness({ worker: false, env: { API_RATE_LIMIT_PER_MINUTE: '100000' } });
  key = (await makeKey(h.db)).secret;
});
afterAll(async () => {
  await h?.close();
});

const uniq = () => `M${Date.now()}${Math.floor(Math.random() * 1e6)}`;
const create = (merchantOrderNo = uniq(), extra: Record<string, unknown> = {}) =>
  api('POST', '/orders', { key, body: { merchantOrderNo, amountFen: 1234, description: '会员年费', metadata: { customer: 'c-42' }, ...extra } });

it('creates an order whose checkout page serves it like a storefront order', async () => {
  const no = uniq();
  const res = await create(no);
  expect(res.status).toBe(201);
  const order = Order.parse(res.body);
  expect(order).toMatchObject({ merchantOrderNo: no, status: 'awaiting_payment', amountFen: 1234, refundedFen: 0, metadata: { customer: 'c-42' } });
  expect(order.codeUrl).toMatch(/^weixin:\/\//);
  const token = order.checkoutUrl.split('/checkout/')[1]!;
  expect(order.checkoutUrl).toBe(`${h.appUrl}/checkout/${token}`);
  const view = await getCheckoutView(h.db, token);
  expect(view).toMatchObject({ status: 'awaiting_payment', amountFen: 1234, codeUrl: order.codeUrl, outTradeNo: order.outTradeNo, items: [] });

  // Paid through the simulator: the API reads it paid.
  await h.simPay(order.codeUrl!);
  const synced = await api('POST', `/orders/${order.id}/sync`, { key });
  expect(synced.status).toBe(200);
  expect(synced.body.order.status).toBe('paid');
  expect(synced.body.order.transactionId).toBeTruthy();
  expect(synced.body.order.codeUrl).toBeNull();
  // A paid order cannot be closed.
  const close = await api('POST', `/orders/${order.id}/close`, { key });
  expect(close.status).toBe(409);
  expect(close.body.error.code).toBe('conflict');
});

it('refuses a second create with the same merchantOrderNo (409), whatever the body', async () => {
  const no = uniq();
  expect((await create(no)).status).toBe(201);
  const again = await create(no, { amountFen: 999 });
  expect(again.status).toBe(409);
  expect(again.body).toEqual({ error: { code: 'conflict', message: expect.stringContaining(no), details: { merchantOrderNo: no } } });
  const same = await create(no);
  expect(same.status).toBe(409);
  expect(await h.db.$count(orders, eq(orders.merchantOrderNo, no))).toBe(1);
});

it('validates the body and answers in the one error shape', async () => {
  const res = await api('POST', '/orders', { key, body: { merchantOrderNo: 'bad no!', amountFen: -1, description: '' } });
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('invalid_request');
  expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['body.amountFen', 'body.description', 'body.merchantOrderNo']);
  expect((await api('POST', '/orders', { key, rawBody: '{nope', headers: { 'content-type': 'application/json' } })).body.error.code).toBe('invalid_request');
  expect((await api('POST', '/orders', { key, body: { merchantOrderNo: uniq(), amountFen: 1, description: 'x', extra: 1 } })).status).toBe(400);
  expect((await api('GET', '/orders/not-a-uuid', { key })).status).toBe(400);
  expect((await api('GET', `/orders/${crypto.randomUUID()}`, { key })).body.error.code).toBe('not_found');
  expect((await api('GET', '/nothing-here', { key })).status).toBe(404);
  expect((await api('DELETE', '/orders', { key })).body.error.code).toBe('method_not_allowed');
});

it('closes an order awaiting payment, at WeChat first', async () => {
  const created = await create();
  const closed = await api('POST', `/orders/${created.body.id}/close`, { key });
  expect(closed.status).toBe(200);
  expect(closed.body).toMatchObject({ id: created.body.id, status: 'closed', codeUrl: null });
});

it('lists with filters and cursor pages that neither skip nor repeat', async () => {
  const tag = uniq();
  const made: string[] = [];
  for (let i = 0; i < 5; i++) made.push((await create(`${tag}-${i}`)).body.id);
  const since = (await h.db.select().from(orders).where(eq(orders.id, made[0]!)))[0]!.createdAt.toISOString();
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { data: { id: string }[]; nextCursor: string | null } } = await api(
      'GET',
      `/orders?limit=2&createdFrom=${encodeURIComponent(since)}${cursor ? `&cursor=${cursor}` : ''}`,
      { key },
    );
    expect(page.status).toBe(200);
    OrderList.parse(page.body);
    seen.push(...page.body.data.map((o) => o.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  // Other files share this database and may create orders in the same window: the pages must hold each
  // of ours once, newest first, and repeat none of anyone's.
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen.filter((id) => made.includes(id))).toEqual([...made].reverse());
  const one = await api('GET', `/orders?merchantOrderNo=${tag}-3`, { key });
  expect(one.body.data.map((o: { id: string }) => o.id)).toEqual([made[3]]);
  expect((await api('GET', '/orders?status=nope', { key })).status).toBe(400);
  expect((await api('GET', '/orders?cursor=garbage', { key })).status).toBe(400);
});

it('answers 401 for a missing, unknown, revoked or expired key, and 403 without the scope', async () => {
  expect((await api('GET', '/orders', {})).status).toBe(401);
  expect((await api('GET', '/orders', { key: 'sk_test_unknownunknownunknownunknown' })).status).toBe(401);
  const revoked = await makeKey(h.db);
  expect((await api('GET', '/orders', { key: revoked.secret })).status).toBe(200);
  await revokeApiKey(h.db, SYSTEM_ACTOR, revoked.id);
  const r = await api('GET', '/orders', { key: revoked.secret });
  expect(r.status).toBe(401);
  expect(r.body.error.code).toBe('unauthorized');
  expect(r.headers.get('www-authenticate')).toBe('Bearer');

  const expiring = await makeKey(h.db, undefined, { expiresAt: new Date(Date.now() + 60_000) });
  await h.db
    .update(apiKeys)
    .set({ expiresAt: new Date(Date.now() - 1000) })
    .where(eq(apiKeys.id, expiring.id));
  expect((await api('GET', '/orders', { key: expiring.secret })).status).toBe(401);

  const readOnly = await makeKey(h.db, ['orders:read']);
  expect((await api('GET', '/orders', { key: readOnly.secret })).status).toBe(200);
  const denied = await api('POST', '/orders', { key: readOnly.secret, body: { merchantOrderNo: uniq(), amountFen: 1, description: 'x' } });
  expect(denied.status).toBe(403);
  expect(denied.body.error).toMatchObject({ code: 'insufficient_scope', details: { required: 'orders:write' } });
});

it('records last use (time and IP) and rolls a key with an overlap', async () => {
  const k = await makeKey(h.db);
  await api('GET', '/orders', { key: k.secret, headers: { 'x-scanpay-peer-ip': '203.0.113.9' } });
  const [row] = await h.db.select().from(apiKeys).where(eq(apiKeys.id, k.id));
  expect(row!.lastUsedAt).toBeInstanceOf(Date);
  expect(row!.lastUsedIp).toBe('203.0.113.9');

  const rolled = await rollApiKey(h.db, SYSTEM_ACTOR, k.id, 1);
  expect(rolled.secret).toMatch(/^sk_test_/);
  expect(rolled.key.scopes).toEqual(row!.scopes);
  // Both work during the overlap…
  expect((await api('GET', '/orders', { key: k.secret })).status).toBe(200);
  expect((await api('GET', '/orders', { key: rolled.secret })).status).toBe(200);
  // …and the old one stops at its end.
  await h.db
    .update(apiKeys)
    .set({ expiresAt: new Date(Date.now() - 1) })
    .where(eq(apiKeys.id, k.id));
  expect((await api('GET', '/orders', { key: k.secret })).status).toBe(401);
  const immediate = await rollApiKey(h.db, SYSTEM_ACTOR, rolled.key.id, 0);
  await eventually(async () => (await api('GET', '/orders', { key: rolled.secret })).status === 401);
  expect((await api('GET', '/orders', { key: immediate.secret })).status).toBe(200);
});

it('rate-limits per key with 429 and Retry-After', async () => {
  const limited = await makeKey(h.db);
  const env = h.deps.env;
  const saved = env.API_RATE_LIMIT_PER_MINUTE;
  env.API_RATE_LIMIT_PER_MINUTE = 3;
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await api('GET', '/orders?limit=1', { key: limited.secret })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const res = await api('GET', '/orders?limit=1', { key: limited.secret });
    expect(res.body.error.code).toBe('rate_limited');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another key is not affected.
    expect((await api('GET', '/orders?limit=1', { key: (await makeKey(h.db)).secret })).status).toBe(200);
  } finally {
    env.API_RATE_LIMIT_PER_MINUTE = saved;
  }
});
