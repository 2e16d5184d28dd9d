// One owner for a delivery attempt: the worker sends a fetched batch side by side and writes its outcomes
// together (deliverAttempts); a job run alone is a batch of one (deliverAttempt). This runs every outcome
// both ways, on twin deliveries to twin endpoints, and compares what each wrote: the delivery rows, the
// attempt log, the endpoints' health, the next attempt enqueued and the alert of a disabled endpoint.
import { randomBytes, randomUUID } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alerts, webhookAttempts, webhookDeliveries, webhookEndpoints, webhookMessages } from '@/db/schema';
import { deliverAttempt, deliverAttempts, type AttemptOutcome, type DeliverJob } from '@/server/webhooks/deliveries';
import { createSender } from '@/server/webhooks/send';
import { startHarness, type Harness } from '../helpers/app-harness';
import { startReceiver, type Receiver } from '../helpers/receiver';

// Retries far enough away that the harness's own worker does not make a second attempt during the test.
const SCALE = 10;
let h: Harness;
const receivers: Record<string, Receiver> = {};
const ANSWERS = {
  ok: { status: 200 },
  error: { status: 500 },
  gone: { status: 410 },
  throttled: { status: 429, headers: { 'retry-after': '7' } },
} as const;
type Answer = keyof typeof ANSWERS;

beforeAll(async () => {
  // A database of its own, and no endpoint the payments of other files could fan out to.
  h = await startHarness({ ownDatabase: true, env: { WEBHOOK_RETRY_SCALE: String(SCALE), WEBHOOK_TIMEOUT_MS: '2000' } });
  for (const [name, answer] of Object.entries(ANSWERS)) {
    receivers[name] = await startReceiver();
    receivers[name]!.behave = () => answer;
  }
});
afterAll(async () => {
  for (const r of Object.values(receivers)) await r.close();
  await h?.close();
});

async function makeEndpoint(answer: Answer, opts: { disabled?: boolean; failingDays?: number } = {}) {
  const [e] = await h.db
    .insert(webhookEndpoints)
    .values({
      url: receivers[answer]!.url,
      secret: `whsec_${randomBytes(24).toString('base64')}`,
      disabledAt: opts.disabled ? new Date() : null,
      failingSince: opts.failingDays ? new Date(Date.now() - opts.failingDays * 86_400_000 * SCALE) : null,
    })
    .returning();
  return e!;
}

async function makeDelivery(endpointId: string, attempts = 0) {
  const id = `evt_test_${randomUUID().replaceAll('-', '')}`;
  await h.db.insert(webhookMessages).values({ id, type: 'webhook.test', body: JSON.stringify({ id, type: 'webhook.test', data: {} }) });
  const [d] = await h.db.insert(webhookDeliveries).values({ endpointId, messageId: id, attempts, nextAttemptAt: new Date() }).returning();
  return d!;
}

/** Every case: the endpoint it goes to and the job that reaches it. */
const CASES: {
  name: string;
  answer: Answer;
  endpoint?: { disabled?: boolean; failingDays?: number };
  attempts?: number;
  job?: (d: { id: string }) => DeliverJob;
}[] = [
  { name: 'succeeded', answer: 'ok' },
  { name: 'succeeded, endpoint recovering', answer: 'ok', endpoint: { failingDays: 1 } },
  { name: 'retry after 500', answer: 'error' },
  { name: 'retry after 429 with Retry-After', answer: 'throttled' },
  { name: 'last attempt failed', answer: 'error', attempts: 9, job: (d) => ({ deliveryId: d.id, round: 0, attempt: 10 }) },
  { name: '410 disables', answer: 'gone' },
  { name: 'failing for 5 days disables', answer: 'error', endpoint: { failingDays: 6 } },
  { name: 'endpoint disabled', answer: 'ok', endpoint: { disabled: true } },
  { name: 'stale job', answer: 'ok', job: (d) => ({ deliveryId: d.id, round: 0, attempt: 3 }) },
  { name: 'missing delivery', answer: 'ok', job: () => ({ deliveryId: randomUUID(), round: 0, attempt: 1 }) },
];

async function setUp() {
  const set = [];
  for (const c of CASES) {
    const e = await makeEndpoint(c.answer, c.endpoint);
    const d = await makeDelivery(e.id, c.attempts ?? 0);
    set.push({ c, e, d, job: c.job?.(d) ?? { deliveryId: d.id, round: 0, attempt: (c.attempts ?? 0) + 1 } });
  }
  return set;
}

/** What one case wrote, without ids and times (times as present or not; the retry delay has jitter). */
async function written(x: Awaited<ReturnType<typeof setUp>>[number]) {
  const [d] = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, x.d.id));
  const [e] = await h.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, x.e.id));
  const attempts = await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, x.d.id));
  const jobs = await h.db.execute<{ n: number }>(
    sql`select count(*)::int as n from pgboss.job where name = 'webhooks.deliver' and data->>'deliveryId' = ${x.d.id}`,
  );
  const alerted = await h.db.select().from(alerts).where(sql`${alerts.data}->>'endpointId' = ${x.e.id}`);
  return {
    delivery: {
      status: d!.status,
      attempts: d!.attempts,
      next: d!.nextAttemptAt !== null,
      succeeded: d!.succeededAt !== null,
      last: d!.lastAttemptAt !== null,
    },
    endpoint: { disabled: e!.disabledAt !== null, reason: e!.disabledReason, failing: e!.failingSince !== null },
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      outcome: a.outcome,
      status: a.responseStatus,
      error: a.error,
      signed: /^v1,/.test(a.requestHeaders['webhook-signature'] ?? ''),
      body: a.requestBody,
    })),
    nextJobs: jobs[0]!.n,
    alerts: alerted.map((a) => a.kind),
  };
}

it('a batch writes, for every outcome, exactly what the same attempts write one by one', async () => {
  const sender = createSender({ allowPrivate: true });
  const batchSet = await setUp();
  const aloneSet = await setUp();

  const batchOutcomes = await deliverAttempts(
    h.deps,
    sender,
    batchSet.map((x) => x.job),
  );
  const aloneOutcomes: AttemptOutcome[] = [];
  for (const x of aloneSet) aloneOutcomes.push(await deliverAttempt(h.deps, sender, x.job));

  expect(batchOutcomes).toEqual(aloneOutcomes);
  expect(Object.fromEntries(CASES.map((c, i) => [c.name, batchOutcomes[i]]))).toEqual({
    succeeded: 'succeeded',
    'succeeded, endpoint recovering': 'succeeded',
    'retry after 500': 'retry',
    'retry after 429 with Retry-After': 'retry',
    'last attempt failed': 'failed',
    '410 disables': 'disabled',
    'failing for 5 days disables': 'disabled',
    'endpoint disabled': 'endpoint_disabled',
    'stale job': 'stale',
    'missing delivery': 'missing',
  });
  for (const [i, c] of CASES.entries()) {
    const a = await written(batchSet[i]!);
    const b = await written(aloneSet[i]!);
    // The message bodies differ (twin messages); everything else must not.
    const strip = (w: typeof a) => ({ ...w, attempts: w.attempts.map(({ body, ...rest }) => ({ ...rest, body: typeof body })) });
    expect({ case: c.name, ...strip(a) }).toEqual({ case: c.name, ...strip(b) });
  }
  // Spot checks that the comparison compares something.
  const ok = await written(batchSet[1]!);
  expect(ok).toMatchObject({ delivery: { status: 'succeeded', attempts: 1, succeeded: true }, endpoint: { failing: false }, nextJobs: 0 });
  const retry = await written(batchSet[3]!);
  expect(retry).toMatchObject({ delivery: { status: 'pending', attempts: 1, next: true }, endpoint: { failing: true }, nextJobs: 1 });
  expect(retry.attempts).toEqual([expect.objectContaining({ outcome: 'retry', status: 429, error: 'HTTP 429', signed: true })]);
  const gone = await written(batchSet[5]!);
  expect(gone).toMatchObject({ endpoint: { disabled: true, reason: 'the receiver answered 410 Gone' }, alerts: ['webhook_endpoint_disabled'] });
});

it('two attempts to one endpoint in a batch, one answered 2xx: the endpoint is up', async () => {
  const sender = createSender({ allowPrivate: true });
  const e = await makeEndpoint('ok', { failingDays: 1 });
  const flaky = await startReceiver();
  try {
    flaky.behave = ({ n }) => (n === 0 ? { status: 500 } : { status: 200 });
    await h.db.update(webhookEndpoints).set({ url: flaky.url }).where(eq(webhookEndpoints.id, e.id));
    const d1 = await makeDelivery(e.id);
    const d2 = await makeDelivery(e.id);
    const outcomes = await deliverAttempts(h.deps, sender, [
      { deliveryId: d1.id, round: 0, attempt: 1 },
      { deliveryId: d2.id, round: 0, attempt: 1 },
    ]);
    expect([...outcomes].sort()).toEqual(['retry', 'succeeded']);
    const [after] = await h.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, e.id));
    expect(after!.failingSince).toBeNull();
    const logged = await h.db
      .select()
      .from(webhookAttempts)
      .where(inArray(webhookAttempts.deliveryId, [d1.id, d2.id]));
    expect(logged.map((a) => a.outcome).sort()).toEqual(['retry', 'succeeded']);
  } finally {
    await flaky.close();
  }
});
