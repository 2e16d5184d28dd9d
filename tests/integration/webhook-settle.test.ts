// One owner for a delivery attempt: a worker claims due deliveries with a lease, sends each, and settles the
// attempts that ended together in one transaction (settleAttempts); an attempt settled alone is a batch of
// one. This runs every outcome both ways, on twin deliveries to twin endpoints, and compares what each
// wrote: the delivery rows, the attempt log, the endpoints' health, the next attempt's schedule and the
// alert of a disabled endpoint. Then the claim: the per-endpoint cap, oldest first, and the lease.
import { randomBytes, randomUUID } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alerts, webhookAttempts, webhookDeliveries, webhookEndpoints, webhookMessages } from '@/db/schema';
import { claimDeliveries, leaseMs, sendAttempt, settleAttempts, type AttemptOutcome, type ClaimedAttempt } from '@/server/webhooks/deliveries';
import { startDeliveryDispatcher } from '@/server/webhooks/dispatcher';
import { createSender } from '@/server/webhooks/send';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';
import { startReceiver, type Receiver } from '../helpers/receiver';

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
  // A database of its own, and no worker: this file claims and settles by hand.
  h = await startHarness({ ownDatabase: true, worker: false, env: { WEBHOOK_RETRY_SCALE: String(SCALE), WEBHOOK_TIMEOUT_MS: '2000' } });
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

async function makeDelivery(endpointId: string, attempts = 0, dueAt = new Date()) {
  const id = `evt_test_${randomUUID().replaceAll('-', '')}`;
  await h.db.insert(webhookMessages).values({ id, type: 'webhook.test', body: JSON.stringify({ id, type: 'webhook.test', data: {} }) });
  const [d] = await h.db.insert(webhookDeliveries).values({ endpointId, messageId: id, attempts, nextAttemptAt: dueAt }).returning();
  return d!;
}

/** Nothing due is left over from an earlier test of this file. */
async function clearDue() {
  await h.db.update(webhookDeliveries).set({ status: 'failed', nextAttemptAt: null, leasedUntil: null }).where(eq(webhookDeliveries.status, 'pending'));
}

/** Every case: the endpoint it goes to, the delivery's attempts so far, and what happens between claim and settle. */
const CASES: {
  name: string;
  answer: Answer;
  endpoint?: { disabled?: boolean; failingDays?: number };
  attempts?: number;
  /** A resend while the attempt was in flight: the attempt settles as stale. */
  overtaken?: boolean;
}[] = [
  { name: 'succeeded', answer: 'ok' },
  { name: 'succeeded, endpoint recovering', answer: 'ok', endpoint: { failingDays: 1 } },
  { name: 'retry after 500', answer: 'error' },
  { name: 'retry after 429 with Retry-After', answer: 'throttled' },
  { name: 'last attempt failed', answer: 'error', attempts: 9 },
  { name: '410 disables', answer: 'gone' },
  { name: 'failing for 5 days disables', answer: 'error', endpoint: { failingDays: 6 } },
  { name: 'endpoint disabled', answer: 'ok', endpoint: { disabled: true } },
  { name: 'overtaken by a resend', answer: 'ok', overtaken: true },
];

async function setUp() {
  const set = [];
  for (const c of CASES) {
    const e = await makeEndpoint(c.answer, c.endpoint);
    const d = await makeDelivery(e.id, c.attempts ?? 0);
    set.push({ c, e, d });
  }
  return set;
}

/** What one case wrote, without ids and times (times as present or not; the retry delay has jitter). */
async function written(x: Awaited<ReturnType<typeof setUp>>[number]) {
  const [d] = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, x.d.id));
  const [e] = await h.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, x.e.id));
  const attempts = await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, x.d.id));
  const alerted = await h.db.select().from(alerts).where(sql`${alerts.data}->>'endpointId' = ${x.e.id}`);
  return {
    delivery: {
      status: d!.status,
      attempts: d!.attempts,
      round: d!.round,
      // A retry is due on the schedule (10 × 5 s away here, ± 10 % jitter, so twins differ by up to 10 s:
      // compared to the nearest 25 s); a claim-time lease is gone once settled.
      nextInSeconds: d!.nextAttemptAt === null ? null : Math.round((d!.nextAttemptAt.getTime() - Date.now()) / 25_000) * 25,
      leased: d!.leasedUntil !== null,
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
    alerts: alerted.map((a) => a.kind),
  };
}

/** Claims every due delivery and sends each; then the cases' own in-flight events (a resend). */
async function claimAndSend(sets: Awaited<ReturnType<typeof setUp>>[]) {
  const sender = createSender({ allowPrivate: true });
  const claimed = await claimDeliveries(h.deps, 100);
  const sent = await Promise.all(claimed.map((c) => sendAttempt(h.deps, sender, c)));
  for (const set of sets)
    for (const x of set)
      if (x.c.overtaken)
        await h.db
          .update(webhookDeliveries)
          .set({ round: sql`${webhookDeliveries.round} + 1`, attempts: 0, nextAttemptAt: new Date(Date.now() + 3_600_000), leasedUntil: null })
          .where(eq(webhookDeliveries.id, x.d.id));
  return sets.map((set) => set.map((x) => sent.find((s) => s.claimed.d.id === x.d.id)));
}

it('a batch settles, for every outcome, exactly what the same attempts settle one by one', async () => {
  await clearDue();
  const batchSet = await setUp();
  const aloneSet = await setUp();
  const [batchSent, aloneSent] = await claimAndSend([batchSet, aloneSet]);

  // The disabled endpoint's delivery is failed at the claim, unsent: the others were claimed and sent.
  const sendable = (xs: typeof batchSent) => xs!.flatMap((s) => (s ? [s] : []));
  expect(batchSent!.map((s) => s === undefined)).toEqual(CASES.map((c) => c.endpoint?.disabled === true));
  const batch = await settleAttempts(h.deps, sendable(batchSent));
  const alone: AttemptOutcome[] = [];
  for (const s of sendable(aloneSent)) alone.push(...(await settleAttempts(h.deps, [s])).outcomes);

  expect(batch.outcomes).toEqual(alone);
  const named = (outcomes: AttemptOutcome[]) => {
    const it = outcomes[Symbol.iterator]();
    return Object.fromEntries(CASES.map((c) => [c.name, c.endpoint?.disabled ? 'not sent' : it.next().value]));
  };
  expect(named(batch.outcomes)).toEqual({
    succeeded: 'succeeded',
    'succeeded, endpoint recovering': 'succeeded',
    'retry after 500': 'retry',
    'retry after 429 with Retry-After': 'retry',
    'last attempt failed': 'failed',
    '410 disables': 'disabled',
    'failing for 5 days disables': 'disabled',
    'endpoint disabled': 'not sent',
    'overtaken by a resend': 'stale',
  });
  // The earliest retry scheduled: the 500's second attempt, 5 s × 10 away (± 10 % jitter).
  expect((batch.nextDueAt!.getTime() - Date.now()) / 1000).toBeGreaterThan(40);
  expect((batch.nextDueAt!.getTime() - Date.now()) / 1000).toBeLessThan(56);
  for (const [i, c] of CASES.entries()) {
    const a = await written(batchSet[i]!);
    const b = await written(aloneSet[i]!);
    // The message bodies differ (twin messages); everything else must not.
    const strip = (w: typeof a) => ({ ...w, attempts: w.attempts.map(({ body, ...rest }) => ({ ...rest, body: typeof body })) });
    expect({ case: c.name, ...strip(a) }).toEqual({ case: c.name, ...strip(b) });
  }
  // Spot checks that the comparison compares something.
  const ok = await written(batchSet[1]!);
  expect(ok).toMatchObject({
    delivery: { status: 'succeeded', attempts: 1, succeeded: true, nextInSeconds: null, leased: false },
    endpoint: { failing: false },
  });
  const retry = await written(batchSet[3]!);
  // 429 with Retry-After 7 s: the schedule's 50 s is longer, so it stands.
  expect(retry).toMatchObject({ delivery: { status: 'pending', attempts: 1, nextInSeconds: 50, leased: false }, endpoint: { failing: true } });
  expect(retry.attempts).toEqual([expect.objectContaining({ outcome: 'retry', status: 429, error: 'HTTP 429', signed: true })]);
  const gone = await written(batchSet[5]!);
  expect(gone).toMatchObject({ endpoint: { disabled: true, reason: 'the receiver answered 410 Gone' }, alerts: ['webhook_endpoint_disabled'] });
  const off = await written(batchSet[7]!);
  expect(off).toMatchObject({ delivery: { status: 'failed', attempts: 0, nextInSeconds: null, leased: false }, attempts: [] });
  const overtaken = await written(batchSet[8]!);
  expect(overtaken).toMatchObject({ delivery: { status: 'pending', attempts: 0, round: 1 }, attempts: [expect.objectContaining({ outcome: 'stale' })] });
});

it('two attempts to one endpoint in a batch, one answered 2xx: the endpoint is up', async () => {
  const sender = createSender({ allowPrivate: true });
  const e = await makeEndpoint('ok', { failingDays: 1 });
  const flaky = await startReceiver();
  try {
    flaky.behave = ({ n }) => (n === 0 ? { status: 500 } : { status: 200 });
    await h.db.update(webhookEndpoints).set({ url: flaky.url }).where(eq(webhookEndpoints.id, e.id));
    await clearDue();
    const d1 = await makeDelivery(e.id);
    const d2 = await makeDelivery(e.id);
    const claimed = await claimDeliveries(h.deps, 10);
    expect(claimed.map((c) => c.d.id).sort()).toEqual([d1.id, d2.id].sort());
    const sent = [];
    for (const c of claimed) sent.push(await sendAttempt(h.deps, sender, c));
    const { outcomes } = await settleAttempts(h.deps, sent);
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

it('claims oldest first, never more than the per-endpoint cap in flight, and again once a lease runs out', async () => {
  await clearDue();
  const cap = h.deps.env.WEBHOOK_ENDPOINT_CONCURRENCY;
  const busy = await makeEndpoint('ok');
  const quiet = await makeEndpoint('ok');
  const t0 = Date.now() - 60_000;
  const busyOnes = [];
  for (let i = 0; i < cap + 3; i++) busyOnes.push(await makeDelivery(busy.id, 0, new Date(t0 + i * 1000)));
  const quietOne = await makeDelivery(quiet.id, 0, new Date(t0 + 30_000));
  const later = await makeDelivery(quiet.id, 0, new Date(Date.now() + 3_600_000));

  const first = await claimDeliveries(h.deps, 3);
  expect(first.map((c) => c.d.id)).toEqual(busyOnes.slice(0, 3).map((d) => d.id));
  const second = await claimDeliveries(h.deps, 100);
  // The busy endpoint up to its cap (3 already in flight), the quiet one's due delivery; nothing not yet due.
  expect(second.map((c) => c.d.id).sort()).toEqual([...busyOnes.slice(3, cap).map((d) => d.id), quietOne.id].sort());
  expect(second.map((c) => c.d.id)).not.toContain(later.id);
  expect(await claimDeliveries(h.deps, 100)).toEqual([]);

  const [leased] = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, busyOnes[0]!.id));
  expect(leased!.leasedUntil!.getTime() - Date.now()).toBeGreaterThan(leaseMs(h.deps.env) - 60_000);

  // One settled: its place goes to the next of that endpoint.
  const sender = createSender({ allowPrivate: true });
  await settleAttempts(h.deps, [await sendAttempt(h.deps, sender, first[0]!)]);
  expect((await claimDeliveries(h.deps, 100)).map((c) => c.d.id)).toEqual([busyOnes[cap]!.id]);

  const logged = await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, busyOnes[0]!.id));
  expect(logged.map((a) => a.outcome)).toEqual(['succeeded']);
});

it('a lease that runs out (the worker died mid-send) makes the delivery due again for the same attempt; the late settle is stale', async () => {
  await clearDue();
  const sender = createSender({ allowPrivate: true });
  const e = await makeEndpoint('ok');
  const d = await makeDelivery(e.id);
  const [held] = await claimDeliveries(h.deps, 10);
  expect(held!.d.id).toBe(d.id);
  expect(await claimDeliveries(h.deps, 10)).toEqual([]);
  const [leased] = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, d.id));
  expect(leased!.leasedUntil).not.toBeNull();

  const past = leaseMs(h.deps.env) + 1000;
  h.advanceClock(past);
  try {
    const again: ClaimedAttempt[] = await claimDeliveries(h.deps, 10);
    expect(again.map((c) => [c.d.id, c.round, c.attempt])).toEqual([[d.id, 0, 1]]);
    expect((await settleAttempts(h.deps, [await sendAttempt(h.deps, sender, again[0]!)])).outcomes).toEqual(['succeeded']);
    expect((await settleAttempts(h.deps, [await sendAttempt(h.deps, sender, held!)])).outcomes).toEqual(['stale']);
  } finally {
    h.advanceClock(-past);
  }
  const logged = await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, d.id));
  expect(logged.map((a) => a.outcome).sort()).toEqual(['stale', 'succeeded']);
  const [after] = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, d.id));
  expect(after).toMatchObject({ status: 'succeeded', attempts: 1, leasedUntil: null });
});

it('an answer with NUL bytes is logged (shown as U+FFFD), not left unsettled to be sent again forever', async () => {
  await clearDue();
  const odd = await startReceiver();
  try {
    odd.behave = () => ({ status: 200, body: 'ok\u0000done' });
    const e = await makeEndpoint('ok');
    await h.db.update(webhookEndpoints).set({ url: odd.url }).where(eq(webhookEndpoints.id, e.id));
    const d = await makeDelivery(e.id);
    const [claimed] = await claimDeliveries(h.deps, 10);
    const settled = await settleAttempts(h.deps, [await sendAttempt(h.deps, createSender({ allowPrivate: true }), claimed!)]);
    expect(settled.outcomes).toEqual(['succeeded']);
    const [logged] = await h.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, d.id));
    expect(logged!.responseBody).toBe('ok\ufffddone');
  } finally {
    await odd.close();
  }
});

it('a stop does not wait out a receiver that never answers: the attempt keeps its lease and is claimed again once the lease runs out', async () => {
  await clearDue();
  const hanging = await startReceiver();
  hanging.behave = () => ({ hang: true });
  // A deadline far beyond any stop: only the stop's own bound lets it return.
  const env = { ...h.deps.env, WEBHOOK_TIMEOUT_MS: 60_000 };
  const deps = { ...h.deps, env };
  try {
    const e = await makeEndpoint('ok');
    await h.db.update(webhookEndpoints).set({ url: hanging.url }).where(eq(webhookEndpoints.id, e.id));
    const d = await makeDelivery(e.id);
    const dispatcher = await startDeliveryDispatcher(deps, { listen: false });
    await eventually(async () => hanging.received.length === 1);
    await dispatcher.stop();
    expect(dispatcher.inFlight()).toBe(1);
    const [held] = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, d.id));
    expect(held).toMatchObject({ status: 'pending', attempts: 0 });
    expect(held!.leasedUntil).not.toBeNull();
    expect(await claimDeliveries(deps, 10)).toEqual([]);
    const past = leaseMs(env) + 1000;
    h.advanceClock(past);
    try {
      expect((await claimDeliveries(deps, 10)).map((c) => [c.d.id, c.attempt])).toEqual([[d.id, 1]]);
    } finally {
      h.advanceClock(-past);
    }
  } finally {
    await hanging.close();
  }
});

it('while the payment queue is behind, the dispatcher sends a delivery only once it is BACKLOG_DEFER_MS overdue', async () => {
  await clearDue();
  const receiver = await startReceiver();
  receiver.behave = () => ({ status: 200 });
  let pumps = 0;
  const deferMs = 60_000;
  const deps = {
    ...h.deps,
    env: { ...h.deps.env, BACKLOG_DEFER_MS: deferMs, WEBHOOK_POLL_MS: 50 },
    // Behind all along; each call is one look for due deliveries.
    paymentBacklog: {
      sawBatch() {},
      behind: () => {
        pumps++;
        return true;
      },
    },
  };
  try {
    const e = await makeEndpoint('ok');
    await h.db.update(webhookEndpoints).set({ url: receiver.url }).where(eq(webhookEndpoints.id, e.id));
    const d = await makeDelivery(e.id);
    expect(await claimDeliveries(deps, 10, { deferMs })).toEqual([]);
    const dispatcher = await startDeliveryDispatcher(deps, { listen: false });
    try {
      await eventually(async () => pumps >= 3);
      const [waiting] = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, d.id));
      expect(waiting).toMatchObject({ status: 'pending', attempts: 0, leasedUntil: null });
      expect(receiver.received).toHaveLength(0);
      h.advanceClock(deferMs + 1000);
      try {
        await eventually(async () => {
          const [done] = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, d.id));
          return done?.status === 'succeeded';
        });
      } finally {
        h.advanceClock(-(deferMs + 1000));
      }
      expect(receiver.received).toHaveLength(1);
    } finally {
      await dispatcher.stop();
    }
  } finally {
    await receiver.close();
  }
});
