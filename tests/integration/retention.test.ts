// Retention (issue 15 §3): the periodic sweep prunes webhook attempts past WEBHOOK_ATTEMPT_RETENTION_DAYS and
// API idempotency keys past API_IDEMPOTENCY_RETENTION_HOURS, in bounded batches; younger rows stay, the
// deliveries the pruned attempts belonged to stay whole and take new attempts, a young key still replays.
// A database of its own: the prune is table-wide.
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiIdempotencyKeys, webhookAttempts, webhookDeliveries } from '@/db/schema';
import { pruneIdempotencyKeys } from '@/server/api/idempotency';
import sweepHandler from '@/server/jobs/handlers/sweep';
import { listAttempts } from '@/server/webhooks/deliveries';
import { pruneWebhookAttempts } from '@/server/webhooks/retention';
import { api, makeKey } from '../helpers/api';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';
import { startReceiver, type Receiver } from '../helpers/receiver';

const DAY = 86_400_000;
const HOUR = 3_600_000;
let h: Harness;
let key: string;
let receiver: Receiver;

beforeAll(async () => {
  h = await startHarness({
    ownDatabase: true,
    // Retries 1000× faster: a failing receiver collects attempts in moments. The worker's own minutely sweep
    // keeps everything (the longest retentions), so only the prunes this file runs, with the defaults, remove rows.
    env: {
      API_RATE_LIMIT_PER_MINUTE: '100000',
      WEBHOOK_RETRY_SCALE: '0.001',
      WEBHOOK_TIMEOUT_MS: '1000',
      OUTBOX_RELAY_INTERVAL_MS: '50',
      WEBHOOK_ATTEMPT_RETENTION_DAYS: '3650',
      API_IDEMPOTENCY_RETENTION_HOURS: '8760',
    },
  });
  key = (await makeKey(h.db)).secret;
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await h?.close();
});

/** The sweep job as the worker runs it, with the default retentions (90 days, 48 hours). */
const sweepWithDefaults = () =>
  sweepHandler.run({ version: 1 }, { ...h.deps, env: { ...h.deps.env, WEBHOOK_ATTEMPT_RETENTION_DAYS: 90, API_IDEMPOTENCY_RETENTION_HOURS: 48 } }) as Promise<
    Record<string, number>
  >;

async function backdate(ids: number[], ms: number) {
  await h.db
    .update(webhookAttempts)
    .set({ createdAt: new Date(Date.now() - ms) })
    .where(inArray(webhookAttempts.id, ids));
}

async function paidOrder(amountFen: number): Promise<string> {
  const res = await api('POST', '/orders', {
    key,
    body: { merchantOrderNo: `K${Date.now()}${Math.random()}`.slice(0, 30), amountFen, description: 'retention' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await h.simPay(res.body.codeUrl);
  await eventually(async () => (await api('GET', `/orders/${res.body.id}`, { key })).body.status === 'paid', 20_000);
  return res.body.id;
}

it('prunes webhook attempts past the retention, keeps younger ones and the deliveries they belong to', async () => {
  // Real attempts: two payments to a receiver that fails the first answers, so each delivery has several.
  receiver.behave = ({ n }) => ({ status: n < 6 ? 500 : 200 });
  const ep = await api('POST', '/webhook-endpoints', { key, body: { url: receiver.url, events: ['payment.succeeded'] } });
  expect(ep.status, JSON.stringify(ep.body)).toBe(201);
  await paidOrder(100);
  await paidOrder(200);
  const delivered = await eventually(async () => {
    const ds = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, ep.body.id));
    return ds.length === 2 && ds.every((d) => d.status === 'succeeded') ? ds : null;
  }, 30_000);
  const attempts = await h.db.select().from(webhookAttempts).orderBy(webhookAttempts.id);
  expect(attempts.length).toBe(8); // six failures, then each delivery's success

  // With the default retention of 90 days: the first five are 91 days old, one is 89, the rest are today's.
  const old = attempts.slice(0, 5).map((a) => a.id);
  const young = attempts[5]!.id;
  await backdate(old, 91 * DAY);
  await backdate([young], 89 * DAY);

  // Bounded: one batch of two removes two and stops there; two batches of one, two more.
  expect(await pruneWebhookAttempts(h.db, { now: new Date(), retentionDays: 90, batchSize: 2, maxBatches: 1 })).toBe(2);
  expect(await h.db.select().from(webhookAttempts).where(inArray(webhookAttempts.id, old))).toHaveLength(3);
  expect(await pruneWebhookAttempts(h.db, { now: new Date(), retentionDays: 90, batchSize: 1, maxBatches: 2 })).toBe(2);
  // The sweep job, as the worker runs it, takes the last one.
  expect((await sweepWithDefaults()).prunedWebhookAttempts).toBe(1);
  const left = await h.db.select({ id: webhookAttempts.id }).from(webhookAttempts).orderBy(webhookAttempts.id);
  expect(left.map((a) => a.id)).toEqual(attempts.slice(5).map((a) => a.id));
  expect(left.map((a) => a.id)).toContain(young);

  // The deliveries are untouched and their log reads what is left.
  const after = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, ep.body.id));
  expect(after.map(({ id, status, attempts: n }) => ({ id, status, n })).sort((x, y) => x.id.localeCompare(y.id))).toEqual(
    delivered.map(({ id, status, attempts: n }) => ({ id, status, n })).sort((x, y) => x.id.localeCompare(y.id)),
  );
  expect((await listAttempts(h.db, { endpointId: ep.body.id })).map((a) => a.id).sort((x, y) => x - y)).toEqual(left.map((a) => a.id));
  expect((await api('GET', `/webhook-endpoints/${ep.body.id}`, { key })).status).toBe(200);

  // A delivery whose old attempts went still takes new ones: resend its event, the same delivery row answers.
  const pruned = attempts.slice(0, 5).map((a) => a.deliveryId);
  const target = delivered.find((d) => pruned.includes(d.id))!;
  const eventId = target.messageId;
  const resent = await api('POST', `/events/${eventId}/resend`, { key, body: { endpointId: ep.body.id } });
  expect(resent.status, JSON.stringify(resent.body)).toBe(202);
  expect(resent.body.deliveries).toEqual([{ id: target.id, endpointId: ep.body.id }]);
  await eventually(async () => {
    const rows = await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, target.id));
    return rows.some((r) => r.id > left.at(-1)!.id && r.outcome === 'succeeded');
  }, 20_000);
});

it('prunes idempotency keys past the retention, and a younger key still replays its answer', async () => {
  const youngBody = { merchantOrderNo: `KY${Date.now()}`, amountFen: 100, description: 'retention' };
  const first = await api('POST', '/orders', { key, body: youngBody, idempotencyKey: 'retention-young' });
  expect(first.status).toBe(201);
  const oldBody = { merchantOrderNo: `KO${Date.now()}`, amountFen: 100, description: 'retention' };
  expect((await api('POST', '/orders', { key, body: oldBody, idempotencyKey: 'retention-old' })).status).toBe(201);
  // One key answered 47 hours ago (still replayed), one 49 hours ago, one lock never completed 3 days ago.
  await h.db.execute(sql`update api_idempotency_keys set created_at = now() - interval '47 hours' where key = 'retention-young'`);
  await h.db.execute(sql`update api_idempotency_keys set created_at = now() - interval '49 hours' where key = 'retention-old'`);
  await h.db.insert(apiIdempotencyKeys).values({
    key: 'retention-dead-lock',
    requestHash: 'x',
    method: 'POST',
    path: '/orders',
    apiKeyId: '00000000-0000-4000-8000-000000000000',
    createdAt: new Date(Date.now() - 72 * HOUR),
  });

  expect(await pruneIdempotencyKeys(h.db, { now: new Date(), retentionHours: 48, batchSize: 1, maxBatches: 1 })).toBe(1);
  expect((await sweepWithDefaults()).prunedIdempotencyKeys).toBe(1);
  const keys = (await h.db.select({ key: apiIdempotencyKeys.key }).from(apiIdempotencyKeys)).map((k) => k.key);
  expect(keys).toContain('retention-young');
  expect(keys).not.toContain('retention-old');
  expect(keys).not.toContain('retention-dead-lock');

  // The kept key replays (47 h < 48 h: the replay window is the retention); the pruned one is a new request.
  h.deps.env.API_IDEMPOTENCY_RETENTION_HOURS = 48;
  const replay = await api('POST', '/orders', { key, body: youngBody, idempotencyKey: 'retention-young' });
  expect(replay.status).toBe(201);
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
  expect(replay.body.id).toBe(first.body.id);
  const afterPrune = await api('POST', '/orders', { key, body: oldBody, idempotencyKey: 'retention-old' });
  expect(afterPrune.status).toBe(409); // executed again: the merchantOrderNo is taken
  expect(afterPrune.headers.get('idempotent-replayed')).toBeNull();
});
