// One slow receiver must not starve the others, at the default settings (WEBHOOK_ENDPOINT_CONCURRENCY 8,
// WEBHOOK_WORKER_CONCURRENCY 32): one endpoint of eight answers only after seconds while events for all
// eight arrive interleaved. The other seven get every event while the slow one is still on its first
// answers. (A worker that settled attempts a batch at a time failed this: each batch held one slow attempt,
// so every fetch loop waited for the slow receiver and the fast ones got a few deliveries per slow answer.)
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { webhookAttempts } from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { createEndpoint } from '@/server/webhooks/endpoints';
import { sendTestEvent } from '@/server/webhooks/deliveries';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';
import { startReceiver, type Receiver } from '../helpers/receiver';

const SLOW_MS = 4000;
const EVENTS = 30;
const FAST = 7;
let h: Harness;
let slowRx: Receiver;
let fastRx: Receiver;

beforeAll(async () => {
  h = await startHarness({ ownDatabase: true, env: { WEBHOOK_TIMEOUT_MS: '15000', OUTBOX_RELAY_INTERVAL_MS: '50' } });
  slowRx = await startReceiver();
  slowRx.behave = () => ({ status: 200, delayMs: SLOW_MS });
  fastRx = await startReceiver();
});
afterAll(async () => {
  await slowRx?.close();
  await fastRx?.close();
  await h?.close();
});

it('one slow receiver among eight holds only its own places: the seven others get every event before its second round of answers', async () => {
  const { env } = h.deps;
  expect([env.WEBHOOK_ENDPOINT_CONCURRENCY, env.WEBHOOK_WORKER_CONCURRENCY]).toEqual([8, 32]);
  const slow = await createEndpoint(h.db, SYSTEM_ACTOR, { url: slowRx.url }, 'simulator');
  const fast = [];
  for (let i = 0; i < FAST; i++) fast.push(await createEndpoint(h.db, SYSTEM_ACTOR, { url: `${fastRx.url}?e=${i}` }, 'simulator'));
  // Interleaved, as payment events fan out to every endpoint: each claim sees all eight.
  for (let n = 0; n < EVENTS; n++) for (const e of [slow, ...fast]) await sendTestEvent(h.deps, SYSTEM_ACTOR, e.id);

  await eventually(async () => fastRx.received.length >= FAST * EVENTS, 60_000);
  const [answered] = await h.db
    .select({ n: count() })
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.endpointId, slow.id), eq(webhookAttempts.outcome, 'succeeded')));
  // The slow receiver answers its first 8 after SLOW_MS and the next 8 after twice that: the fast ones were
  // through before its second round.
  expect(answered!.n).toBeLessThan(2 * env.WEBHOOK_ENDPOINT_CONCURRENCY);
  expect(slowRx.maxInFlight).toBeLessThanOrEqual(env.WEBHOOK_ENDPOINT_CONCURRENCY);
  expect(new Set(fastRx.received.map((r) => r.headers['webhook-id'])).size).toBe(FAST * EVENTS);
  // And the slow one is served in full, at its cap.
  await eventually(async () => slowRx.received.length === EVENTS, 60_000);
  expect(slowRx.maxInFlight).toBe(env.WEBHOOK_ENDPOINT_CONCURRENCY);
}, 120_000);
