// Webhooks end to end on the real worker: a payment's outbox event is relayed, fanned out and delivered
// to local receivers, signed in the Standard Webhooks format (verified with the reference library), with
// retries on the scaled schedule, Retry-After, 410 disabling, timeouts, rotation, test events, resend and
// recover, and every attempt logged.
import { and, asc, eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { alerts, webhookAttempts, webhookDeliveries, webhookEndpoints } from '@/db/schema';
import { RETRY_SCHEDULE_SECONDS } from '@/server/webhooks/schedule';
import { api, makeKey } from '../helpers/api';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';
import { startReceiver, type Receiver } from '../helpers/receiver';

const SCALE = 0.001;
let h: Harness;
let key: string;
let rx: Receiver;
beforeAll(async () => {
  // A database of its own: another file's payments would otherwise be fanned out to this file's endpoints.
  h = await startHarness({
    ownDatabase: true,
    env: {
      API_RATE_LIMIT_PER_MINUTE: '100000',
      WEBHOOK_RETRY_SCALE: String(SCALE),
      WEBHOOK_TIMEOUT_MS: '1000',
      OUTBOX_RELAY_INTERVAL_MS: '50',
      // 8 attempts in flight, at most 2 to one endpoint: without the cap, the slow receiver in the cap test below
      // would take all 8 places until its 16 events were through, and the fast one would wait behind them.
      WEBHOOK_ENDPOINT_CONCURRENCY: '2',
      WEBHOOK_WORKER_CONCURRENCY: '8',
    },
  });
  key = (await makeKey(h.db)).secret;
});
beforeEach(async () => {
  await rx?.close();
  rx = await startReceiver();
  await h.db.update(webhookEndpoints).set({ disabledAt: new Date(), disabledReason: 'test isolation' });
});
afterAll(async () => {
  await rx?.close();
  await h?.close();
});

const uniq = () => `W${Date.now()}${Math.floor(Math.random() * 1e6)}`;

async function endpoint(body: Record<string, unknown> = {}) {
  const res = await api('POST', '/webhook-endpoints', { key, body: { url: rx.url, ...body } });
  expect(res.status).toBe(201);
  expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
  return res.body as { id: string; secret: string };
}

async function paidOrder(): Promise<string> {
  const order = await api('POST', '/orders', { key, body: { merchantOrderNo: uniq(), amountFen: 100, description: 'webhook test' } });
  await h.simPay(order.body.codeUrl);
  await eventually(async () => (await api('POST', `/orders/${order.body.id}/sync`, { key })).body.order.status === 'paid');
  return order.body.id;
}

const verify = (secret: string, r: { headers: Record<string, string>; body: string }) => new Webhook(secret).verify(r.body, r.headers) as Record<string, any>;

it('delivers a payment event, signed so the reference library verifies it, with the full order snapshot', async () => {
  const ep = await endpoint({ events: ['payment.succeeded'] });
  const orderId = await paidOrder();
  const got = await eventually(async () => rx.received.find((r) => JSON.parse(r.body).data?.order?.id === orderId));
  const payload = verify(ep.secret, got);
  expect(payload).toMatchObject({ type: 'payment.succeeded', version: 1, orderId, data: { order: { id: orderId, status: 'paid', amountFen: 100 } } });
  expect(got.headers['webhook-id']).toBe(payload.id);
  expect(payload.id).toMatch(/^evt_\d+$/);
  // The same event by the events API.
  const event = await api('GET', `/events/${payload.id}`, { key });
  expect(event.body).toMatchObject({ id: payload.id, type: 'payment.succeeded', orderId });
  const attempt = await eventually(async () => (await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.messageId, payload.id)))[0]);
  expect(attempt).toMatchObject({ endpointId: ep.id, orderId, attempt: 1, responseStatus: 200, outcome: 'succeeded', requestBody: got.body });
  expect(attempt!.requestHeaders['webhook-signature']).toBe(got.headers['webhook-signature']);
  // A tampered body does not verify.
  expect(() => verify(ep.secret, { ...got, body: got.body.replace('"paid"', '"closed"') })).toThrow();
});

it('filters by event type: an endpoint for refunds gets no payment event', async () => {
  await endpoint({ events: ['refund.succeeded'] });
  const all = await endpoint();
  const orderId = await paidOrder();
  await eventually(async () => rx.received.some((r) => JSON.parse(r.body).data?.order?.id === orderId));
  const deliveries = await h.db
    .select()
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookEndpoints.url, rx.url));
  expect(deliveries.map((d) => d.webhook_deliveries.endpointId)).toEqual([all.id]);
});

it('retries failures on the scaled schedule with a fresh timestamp and signature each time, then succeeds', async () => {
  const ep = await endpoint();
  rx.behave = ({ n }) => (n < 3 ? { status: 500, body: 'boom' } : { status: 200 });
  const test = await api('POST', `/webhook-endpoints/${ep.id}/test`, { key });
  expect(test.status).toBe(202);
  await eventually(async () => rx.received.length >= 4, 20_000);
  const tries = rx.received.filter((r) => r.headers['webhook-id'] === test.body.eventId);
  expect(tries.map((t) => t.answered)).toEqual([500, 500, 500, 200]);
  for (const t of tries) expect(verify(ep.secret, t).type).toBe('webhook.test');
  expect(new Set(tries.map((t) => t.headers['webhook-signature'])).size).toBeGreaterThan(1);
  // Each gap at least the schedule's step (less 10% jitter) times the scale.
  for (let i = 1; i < tries.length; i++) {
    expect(tries[i]!.at - tries[i - 1]!.at).toBeGreaterThanOrEqual(RETRY_SCHEDULE_SECONDS[i]! * SCALE * 1000 * 0.9 - 5);
  }
  const logged = await eventually(async () => {
    const rows = await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, test.body.deliveryId)).orderBy(asc(webhookAttempts.id));
    return rows.length >= 4 && rows;
  });
  expect(logged.map((a) => [a.attempt, a.responseStatus, a.outcome])).toEqual([
    [1, 500, 'retry'],
    [2, 500, 'retry'],
    [3, 500, 'retry'],
    [4, 200, 'succeeded'],
  ]);
  expect(logged[0]!.responseBody).toBe('boom');
  const health = await api('GET', `/webhook-endpoints/${ep.id}`, { key });
  expect(health.body.health).toMatchObject({ attempts24h: 4, successRate24h: 0.25, lastError: { status: 500 }, pending: 0, inFlight: 0 });
  expect(health.body.health.p95LatencyMs24h).toBeGreaterThanOrEqual(0);
  expect(health.body.secret).toBeUndefined();
});

it('honours Retry-After on 429, and a receiver that does not answer in time is a failed attempt', async () => {
  const ep = await endpoint();
  rx.behave = ({ n }) => (n === 0 ? { status: 429, headers: { 'retry-after': '2' } } : n === 1 ? { hang: true } : { status: 204 });
  const test = await api('POST', `/webhook-endpoints/${ep.id}/test`, { key });
  await eventually(async () => rx.received.length >= 3, 20_000);
  expect(rx.received[1]!.at - rx.received[0]!.at).toBeGreaterThanOrEqual(1900);
  const logged = await eventually(async () => {
    const rows = await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, test.body.deliveryId)).orderBy(asc(webhookAttempts.id));
    return rows.length >= 3 && rows;
  });
  expect(logged.map((a) => a.responseStatus)).toEqual([429, null, 204]);
  expect(logged[1]!.error).toMatch(/no answer within 1000 ms/);
});

it('a 410 disables the endpoint, with an alert', async () => {
  const ep = await endpoint();
  rx.behave = () => ({ status: 410 });
  await api('POST', `/webhook-endpoints/${ep.id}/test`, { key });
  await eventually(async () => (await api('GET', `/webhook-endpoints/${ep.id}`, { key })).body.disabled === true);
  const [row] = await h.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, ep.id));
  expect(row!.disabledReason).toMatch(/410/);
  const found = await h.db.select().from(alerts).where(eq(alerts.kind, 'webhook_endpoint_disabled'));
  expect(found.some((a) => (a.data as { endpointId: string }).endpointId === ep.id)).toBe(true);
  // Disabled: a test event is refused until it is enabled again.
  expect((await api('POST', `/webhook-endpoints/${ep.id}/test`, { key })).status).toBe(409);
  expect((await api('PATCH', `/webhook-endpoints/${ep.id}`, { key, body: { disabled: false } })).body.disabled).toBe(false);
});

it('during a rotation both secrets verify; the old one alone once the overlap ends does not', async () => {
  const ep = await endpoint();
  const rotated = await api('POST', `/webhook-endpoints/${ep.id}/rotate-secret`, { key });
  expect(rotated.status).toBe(200);
  expect(rotated.body.secret).not.toBe(ep.secret);
  const test = await api('POST', `/webhook-endpoints/${ep.id}/test`, { key });
  const got = await eventually(async () => rx.received.find((r) => r.headers['webhook-id'] === test.body.eventId));
  expect(got.headers['webhook-signature']!.split(' ')).toHaveLength(2);
  expect(verify(rotated.body.secret, got).id).toBe(test.body.eventId);
  expect(verify(ep.secret, got).id).toBe(test.body.eventId);
  await h.db
    .update(webhookEndpoints)
    .set({ previousSecretExpiresAt: new Date(Date.now() - 1000) })
    .where(eq(webhookEndpoints.id, ep.id));
  const later = await api('POST', `/webhook-endpoints/${ep.id}/test`, { key });
  const got2 = await eventually(async () => rx.received.find((r) => r.headers['webhook-id'] === later.body.eventId));
  expect(got2.headers['webhook-signature']!.split(' ')).toHaveLength(1);
  expect(() => verify(ep.secret, got2)).toThrow();
  expect(verify(rotated.body.secret, got2).id).toBe(later.body.eventId);
});

it('resends one event, and recovers every failed delivery since a time with progress', async () => {
  const ep = await endpoint({ events: ['payment.succeeded'] });
  rx.behave = () => ({ status: 500 });
  const orders = [await paidOrder(), await paidOrder()];
  // Give up quickly: mark the pending deliveries failed as the end of their schedule would.
  const deliveries = await eventually(async () => {
    const rows = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, ep.id));
    return rows.length === 2 && rows.every((r) => r.attempts >= 1) && rows;
  });
  await h.db.update(webhookDeliveries).set({ status: 'failed' }).where(eq(webhookDeliveries.endpointId, ep.id));
  rx.behave = () => ({ status: 200 });
  rx.received.length = 0;

  const recover = await api('POST', `/webhook-endpoints/${ep.id}/recover`, { key, body: { since: new Date(Date.now() - 3600_000).toISOString() } });
  expect(recover.status).toBe(202);
  const done = await eventually(async () => {
    const r = await api('GET', `/webhook-endpoints/${ep.id}/recoveries/${recover.body.id}`, { key });
    return r.body.status === 'done' && r.body;
  });
  expect(done).toMatchObject({ total: 2, done: 2 });
  // (a retry that was in flight when the deliveries were marked failed may arrive too: a duplicate)
  await eventually(async () => new Set(rx.received.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).data.order.id)).size >= 2);
  const ids = new Set(rx.received.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).data.order.id));
  expect([...ids].sort()).toEqual([...orders].sort());

  const eventId = rx.received[0]!.headers['webhook-id']!;
  rx.received.length = 0;
  const resend = await api('POST', `/events/${eventId}/resend`, { key, body: { endpointId: ep.id } });
  expect(resend.status).toBe(202);
  const again = await eventually(async () => rx.received.find((r) => r.headers['webhook-id'] === eventId));
  expect(verify(ep.secret, again).id).toBe(eventId);
  const [delivery] = await h.db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.endpointId, ep.id), eq(webhookDeliveries.messageId, eventId)));
  expect(delivery!.round).toBe(2);
  void deliveries;
});

it('caps the attempts in flight to one endpoint, so a slow receiver does not hold up another', async () => {
  const slow = await endpoint();
  // Well inside the 1 s deadline: every request the receiver holds is one the worker still waits for.
  rx.behave = () => ({ status: 200, delayMs: 600 });
  const fastRx = await startReceiver();
  try {
    const fast = await api('POST', '/webhook-endpoints', { key, body: { url: fastRx.url } });
    const cap = h.deps.env.WEBHOOK_ENDPOINT_CONCURRENCY;
    const n = cap * 8;
    for (let i = 0; i < n; i++) await api('POST', `/webhook-endpoints/${slow.id}/test`, { key });
    await eventually(async () => rx.received.length >= 1);
    // The endpoint's health shows its backlog: the cap's worth in flight, the rest waiting.
    const busy = (await api('GET', `/webhook-endpoints/${slow.id}`, { key })).body.health;
    expect(busy.inFlight).toBeGreaterThan(0);
    expect(busy.inFlight).toBeLessThanOrEqual(cap);
    expect(busy.pending).toBeGreaterThan(busy.inFlight);
    await api('POST', `/webhook-endpoints/${fast.body.id}/test`, { key });
    await eventually(async () => fastRx.received.length === 1, 10_000);
    // The fast receiver was served while the slow one still had most of its events to go.
    expect(rx.received.length).toBeLessThan(n);
    await eventually(async () => rx.received.length === n, 30_000);
    const timedOut = await h.db
      .select()
      .from(webhookAttempts)
      .where(and(eq(webhookAttempts.endpointId, slow.id), eq(webhookAttempts.outcome, 'retry')));
    expect(timedOut).toEqual([]);
    // The cap is exact: claims are taken one at a time and count every lease in flight.
    expect(rx.maxInFlight).toBeLessThanOrEqual(cap);
    // Attempts to one receiver go side by side, not one at a time.
    expect(rx.maxInFlight).toBeGreaterThan(1);
  } finally {
    await fastRx.close();
  }
});
