// Webhook deliveries: the one module that writes messages, deliveries and attempts. The outbox relay's
// batches fan out to one delivery per matching endpoint (idempotent: unique per endpoint and message).
// The delivery row is its own schedule: `next_attempt_at` says when it is due, and a worker claims due
// deliveries with a lease (`leased_until`), sends each, and settles each attempt when its own answer comes
// (server/webhooks/dispatcher.ts runs that loop). A lease that runs out (the worker died mid-send) makes the
// delivery due again, so an attempt is sent at least once and never lost. Each settle moves a delivery only
// from the step it was claimed at (round, attempts): an attempt that lost its lease, or was overtaken by a
// resend, is logged as stale and changes nothing. Every attempt is logged.
import { and, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { alerts, outboxEvents, webhookAttempts, webhookDeliveries, webhookEndpoints, webhookMessages, webhookRecoveries } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import type { AppDeps } from '@/server/deps';
import { AppError } from '@/server/errors';
import { log } from '@/server/log';
import { QUEUE } from '@/server/queue/catalogue';
import { enqueue } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { notifyAfterCommit } from '@/server/queue/wake';
import { signingSecrets } from './endpoints';
import { buildEventPayloads } from './payload';
import { MAX_ATTEMPTS, parseRetryAfter, retryDelayMs } from './schedule';
import type { Sender, SendResult } from './send';
import { signatureHeader } from './signing';

type Deps = Pick<AppDeps, 'db' | 'env'>;
type EndpointRow = typeof webhookEndpoints.$inferSelect;

export const TEST_EVENT_TYPE = 'webhook.test';
/** NOTIFY channel the dispatchers LISTEN on: deliveries became due (fanout, resend, recover, test event). */
export const DELIVERIES_DUE_CHANNEL = 'scanpay_webhook_deliveries_due';
/** Claims are taken one at a time across workers (a transaction-level advisory lock), so the per-endpoint cap is exact. */
const CLAIM_LOCK = 0x5ca9_0001;
/** A claimed attempt's lease: the request deadline and room for its settle; past it, the delivery is due again. */
export const leaseMs = (env: Pick<AppDeps['env'], 'WEBHOOK_TIMEOUT_MS'>) => env.WEBHOOK_TIMEOUT_MS + 15_000;

const matches = (endpoint: Pick<EndpointRow, 'eventTypes'>, type: string) => endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(type);

async function activeEndpoints(tx: Tx): Promise<EndpointRow[]> {
  return tx
    .select()
    .from(webhookEndpoints)
    .where(and(isNull(webhookEndpoints.disabledAt), isNull(webhookEndpoints.deletedAt)));
}

/** Wakes the dispatchers once `deps`' transaction has committed (outside it: a NOTIFY in a transaction makes its
 * commit wait on a global lock, server/queue/wake.ts); they also poll, so a lost wake-up only delays. */
function wakeDispatchers(deps: Deps) {
  notifyAfterCommit(deps.db.$client, DELIVERIES_DUE_CHANNEL);
}

/** The messages of outbox events, by event id (written once: a body, and so its snapshot, never changes). */
async function ensureMessages(deps: Deps, tx: Tx, events: readonly (typeof outboxEvents.$inferSelect)[]): Promise<Map<number, string>> {
  const ids = new Map(events.map((e) => [e.id, `evt_${e.id}`]));
  if (!events.length) return ids;
  const existing = await tx
    .select({ id: webhookMessages.id })
    .from(webhookMessages)
    .where(inArray(webhookMessages.id, [...ids.values()]));
  const have = new Set(existing.map((m) => m.id));
  const missing = events.filter((e) => !have.has(ids.get(e.id)!));
  if (missing.length) {
    const payloads = await buildEventPayloads({ ...deps, db: tx as never }, missing);
    await tx
      .insert(webhookMessages)
      .values(
        missing.map((event, i) => ({
          id: ids.get(event.id)!,
          outboxEventId: event.id,
          type: event.topic,
          orderId: event.orderId,
          body: JSON.stringify(payloads[i]),
          createdAt: event.createdAt,
        })),
      )
      .onConflictDoNothing();
  }
  return ids;
}

/** webhooks.fanout: one delivery per (event, matching endpoint), due at once — relay batches in a few statements. */
export async function fanoutEvents(deps: Deps, eventIds: readonly number[]): Promise<{ messages: number; deliveries: number }> {
  const done = await deps.db.transaction(async (tx) => {
    const events = await tx
      .select()
      .from(outboxEvents)
      .where(inArray(outboxEvents.id, [...eventIds]));
    const endpoints = await activeEndpoints(tx);
    const wanted = events
      .sort((a, b) => a.id - b.id)
      .map((event) => ({ event, targets: endpoints.filter((e) => matches(e, event.topic)) }))
      .filter((x) => x.targets.length);
    if (!wanted.length) return { messages: events.length, deliveries: 0 };
    const messageIds = await ensureMessages(
      deps,
      tx,
      wanted.map((x) => x.event),
    );
    // Due from the moment its event happened: a fan-out that waited (a payment backlog) does not add its own
    // wait to the dispatcher's, and the oldest events go first.
    const rows = await tx
      .insert(webhookDeliveries)
      .values(
        wanted.flatMap(({ event, targets }) =>
          targets.map((e) => ({ endpointId: e.id, messageId: messageIds.get(event.id)!, nextAttemptAt: event.createdAt })),
        ),
      )
      .onConflictDoNothing()
      .returning({ id: webhookDeliveries.id });
    return { messages: events.length, deliveries: rows.length };
  });
  if (done.deliveries) wakeDispatchers(deps);
  return done;
}

/** Custom header values may be credentials: the attempt log keeps their names only. */
function loggedHeaders(headers: Record<string, string>, custom: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, k in custom ? '[redacted]' : v]));
}

export type AttemptOutcome = 'succeeded' | 'retry' | 'failed' | 'disabled' | 'stale';

/** A delivery claimed for one attempt: the step it was claimed at (round, attempt) and what to send. */
export interface ClaimedAttempt {
  d: { id: string };
  e: Pick<EndpointRow, 'id' | 'url' | 'headers' | 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>;
  m: Pick<typeof webhookMessages.$inferSelect, 'id' | 'body' | 'orderId'>;
  round: number;
  attempt: number;
}

type ClaimRow = {
  id: string;
  round: number;
  attempts: number;
  endpoint_id: string;
  url: string;
  headers: Record<string, string>;
  secret: string;
  previous_secret: string | null;
  /** Text: drizzle leaves timestamps unparsed on its postgres.js client. */
  previous_secret_expires_at: string | null;
  message_id: string;
  body: string;
  order_id: string | null;
};

/**
 * Claims up to `limit` due deliveries for attempts, oldest due first across endpoints, and never more than
 * WEBHOOK_ENDPOINT_CONCURRENCY in flight to one endpoint (counting every worker's leases). Each is leased
 * for leaseMs. With `deferMs`, only deliveries due at least that long ago are taken (the dispatcher's way of
 * giving way to a payment backlog). Due deliveries of a disabled or deleted endpoint are failed here, unsent (recover sends them
 * again once the endpoint is enabled). One round trip: the lock and the claim are pipelined, and the claim
 * returns what the attempts send (claims are frequent: they are much of the database's work per delivery).
 */
export async function claimDeliveries(deps: AppDeps, limit: number, opts: { deferMs?: number } = {}): Promise<ClaimedAttempt[]> {
  if (limit <= 0) return [];
  const now = deps.clock.now();
  const at = now.toISOString();
  // Deferred (the payment queue is behind): only what has been due for deferMs.
  const dueBy = new Date(now.getTime() - (opts.deferMs ?? 0)).toISOString();
  const leaseEnd = new Date(now.getTime() + leaseMs(deps.env)).toISOString();
  const cap = deps.env.WEBHOOK_ENDPOINT_CONCURRENCY;
  // The claim is its own statement after the lock, so its snapshot sees every claim committed before it. Its
  // plan does not depend on the values (a lateral index walk per endpoint): planned once, not on every claim.
  const [, , rows] = (await deps.db.$client.begin((q) => [
    q`set local plan_cache_mode = force_generic_plan`,
    q`select pg_advisory_xact_lock(${CLAIM_LOCK})`,
    q`
      with in_flight as (
        select endpoint_id, count(*)::int as n from webhook_deliveries
        where status = 'pending' and leased_until is not null and leased_until > ${at}::timestamptz
        group by endpoint_id
      ), picked as (
        select c.id, c.next_attempt_at, (e.disabled_at is null and e.deleted_at is null) as active
        from webhook_endpoints e
        left join in_flight f on f.endpoint_id = e.id
        cross join lateral (
          select d.id, d.next_attempt_at from webhook_deliveries d
          where d.endpoint_id = e.id and d.status = 'pending' and d.next_attempt_at <= ${dueBy}::timestamptz
          order by d.next_attempt_at
          limit case when e.disabled_at is null and e.deleted_at is null then greatest(0, ${cap}::int - coalesce(f.n, 0)) else ${limit}::int end
        ) c
        order by c.next_attempt_at
        limit ${limit}::int
      ), claimed as (
        update webhook_deliveries d
        set leased_until = case when picked.active then ${leaseEnd}::timestamptz end,
          next_attempt_at = case when picked.active then ${leaseEnd}::timestamptz end,
          status = case when picked.active then d.status else 'failed' end
        from picked where d.id = picked.id
        returning d.id, d.round, d.attempts, d.endpoint_id, d.message_id, picked.active, picked.next_attempt_at as due_at
      )
      select c.id, c.round, c.attempts, c.endpoint_id, e.url, e.headers, e.secret, e.previous_secret, e.previous_secret_expires_at,
        c.message_id, m.body, m.order_id
      from claimed c join webhook_endpoints e on e.id = c.endpoint_id join webhook_messages m on m.id = c.message_id
      where c.active order by c.due_at, c.id`,
  ])) as unknown as [unknown, unknown, ClaimRow[]];
  return rows.map((r) => ({
    d: { id: r.id },
    e: {
      id: r.endpoint_id,
      url: r.url,
      headers: r.headers,
      secret: r.secret,
      previousSecret: r.previous_secret,
      previousSecretExpiresAt: r.previous_secret_expires_at === null ? null : new Date(r.previous_secret_expires_at),
    },
    m: { id: r.message_id, body: r.body, orderId: r.order_id },
    round: r.round,
    attempt: r.attempts + 1,
  }));
}

/** One attempt as sent and answered. */
export interface SentAttempt {
  claimed: ClaimedAttempt;
  at: Date;
  headers: Record<string, string>;
  r: SendResult;
  ok: boolean;
}

/** Signs the claimed attempt afresh (its own timestamp) and POSTs it. Never throws: a failure is an answer. */
export async function sendAttempt(deps: AppDeps, sender: Sender, claimed: ClaimedAttempt): Promise<SentAttempt> {
  const { e, m } = claimed;
  const at = deps.clock.now();
  const timestamp = Math.floor(at.getTime() / 1000);
  const headers: Record<string, string> = {
    ...e.headers,
    'content-type': 'application/json',
    'user-agent': 'Scanpay-Webhooks/1',
    'webhook-id': m.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(signingSecrets(e, at), m.id, timestamp, m.body),
  };
  const r = await sender.send(e.url, headers, m.body, deps.env.WEBHOOK_TIMEOUT_MS);
  const ok = r.status !== null && r.status >= 200 && r.status < 300;
  return { claimed, at, headers, r, ok };
}

/** What settling decided for each attempt (in the order given) and the earliest retry it scheduled. */
export interface Settled {
  outcomes: AttemptOutcome[];
  nextDueAt: Date | null;
}

/**
 * Settles sent attempts: each outcome decided (success, retry on the schedule, Retry-After, 410 and the
 * long-failing rule disabling the endpoint) and written, all of them in one transaction of a few statements
 * (at high rates the database's work per delivery is what limits throughput). A batch settles exactly as
 * its attempts would one by one (tests/integration/webhook-settle.test.ts).
 */
export async function settleAttempts(deps: Pick<AppDeps, 'db' | 'env'>, sent: readonly SentAttempt[]): Promise<Settled> {
  const { db, env } = deps;
  if (!sent.length) return { outcomes: [], nextDueAt: null };
  return db.transaction(async (tx) => {
    const scale = env.WEBHOOK_RETRY_SCALE;
    // Endpoints that only failed here are failing since their first failure after the last success (their
    // earliest attempt here, if none before): read back first, the disable rule needs it. In id order (two
    // settles locking endpoints in different orders could deadlock).
    const failingSince = new Map<string, Date>();
    const endpointIds = [...new Set(sent.map((s) => s.claimed.e.id))].sort();
    for (const id of endpointIds) {
      const mine = sent.filter((s) => s.claimed.e.id === id);
      if (!mine.some((s) => s.ok) && mine.some((s) => s.r.status !== 410)) {
        const first = new Date(Math.min(...mine.map((s) => s.at.getTime())));
        const [endpoint] = await tx
          .update(webhookEndpoints)
          .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${first.toISOString()}::timestamptz)` })
          .where(eq(webhookEndpoints.id, id))
          .returning({ failingSince: webhookEndpoints.failingSince });
        failingSince.set(id, endpoint?.failingSince ?? first);
      }
    }

    const decided = sent.map((s) => {
      let outcome: AttemptOutcome;
      let next: Date | null = null;
      const now = s.at;
      if (s.ok) outcome = 'succeeded';
      else if (s.r.status === 410) outcome = 'disabled';
      else {
        const failingMs = now.getTime() - (failingSince.get(s.claimed.e.id) ?? now).getTime();
        if (failingMs > env.WEBHOOK_DISABLE_AFTER_DAYS * 86_400_000 * scale) outcome = 'disabled';
        else {
          const throttled = s.r.status === 429 || s.r.status === 503;
          const delay =
            s.claimed.attempt < MAX_ATTEMPTS
              ? retryDelayMs(s.claimed.attempt + 1, scale, throttled ? parseRetryAfter(s.r.headers['retry-after'], now.getTime()) : null)
              : null;
          if (delay === null) outcome = 'failed';
          else {
            outcome = 'retry';
            next = new Date(now.getTime() + delay);
          }
        }
      }
      return { ...s, outcome, next };
    });

    // Every delivery moved and every attempt logged in one statement: a delivery only if it is still at the
    // step it was claimed at, and an attempt that did not move its delivery is logged as stale. Sent
    // together with the endpoints that answered 2xx (failing_since cleared, written only if set, so a
    // healthy endpoint's row is never locked): one round trip for the usual settle.
    const steps = decided.map(({ claimed: { d, e, m, round, attempt }, at, headers, r, ok, outcome, next }) => ({
      id: d.id,
      round,
      attempt,
      status: outcome === 'succeeded' ? 'succeeded' : outcome === 'retry' ? 'pending' : 'failed',
      next: next?.toISOString() ?? null,
      at: at.toISOString(),
      succeeded: ok ? at.toISOString() : null,
      outcome,
      endpoint_id: e.id,
      message_id: m.id,
      order_id: m.orderId,
      url: e.url,
      request_headers: loggedHeaders(headers, e.headers),
      request_body: m.body,
      response_status: r.status,
      response_body: r.body,
      latency_ms: r.latencyMs,
      error: r.error ?? (ok ? null : `HTTP ${r.status}`),
    }));
    const up = endpointIds.filter((id) => sent.some((s) => s.ok && s.claimed.e.id === id));
    const [moved] = await Promise.all([
      tx.execute<{ id: string }>(sql`
        with v as (
          select * from jsonb_to_recordset(${JSON.stringify(steps)}::jsonb) as v(id uuid, round int, attempt int, status text,
            next timestamptz, at timestamptz, succeeded timestamptz, outcome text, endpoint_id uuid, message_id text, order_id uuid,
            url text, request_headers jsonb, request_body text, response_status int, response_body text, latency_ms int, error text)
        ), moved as (
          update ${webhookDeliveries} d set attempts = v.attempt, last_attempt_at = v.at, status = v.status,
            next_attempt_at = v.next, succeeded_at = v.succeeded, leased_until = null
          from v
          where d.id = any(${`{${steps.map((x) => x.id).join(',')}}`}::uuid[]) -- so the plan is a primary-key lookup, whatever the estimate for the JSON rows
            and d.id = v.id and d.round = v.round and d.attempts = v.attempt - 1 and d.status = 'pending'
          returning d.id
        ), logged as (
          insert into ${webhookAttempts} (delivery_id, endpoint_id, message_id, order_id, attempt, url, request_headers, request_body,
            response_status, response_body, latency_ms, error, outcome, created_at)
          select v.id, v.endpoint_id, v.message_id, v.order_id, v.attempt, v.url, v.request_headers, v.request_body,
            v.response_status, v.response_body, v.latency_ms, v.error, case when moved.id is null then 'stale' else v.outcome end, v.at
          from v left join moved on moved.id = v.id
        )
        select id from moved`),
      up.length
        ? tx
            .update(webhookEndpoints)
            .set({ failingSince: null })
            .where(and(inArray(webhookEndpoints.id, up), isNotNull(webhookEndpoints.failingSince)))
        : Promise.resolve(),
    ]);
    const movedIds = new Set(moved.map((r) => r.id));

    const outcomes: AttemptOutcome[] = [];
    const disabled = new Map<string, { e: ClaimedAttempt['e']; status: number | null }>();
    let nextDueAt: Date | null = null;
    for (const s of decided) {
      if (!movedIds.has(s.claimed.d.id)) {
        outcomes.push('stale');
        continue;
      }
      outcomes.push(s.outcome);
      if (s.next && (!nextDueAt || s.next < nextDueAt)) nextDueAt = s.next;
      if (s.outcome === 'disabled' && !disabled.has(s.claimed.e.id)) disabled.set(s.claimed.e.id, { e: s.claimed.e, status: s.r.status });
    }
    for (const { e, status } of disabled.values())
      await disableEndpoint(tx, e, status === 410 ? 'the receiver answered 410 Gone' : `every delivery failed for ${env.WEBHOOK_DISABLE_AFTER_DAYS} days`);
    return { outcomes, nextDueAt };
  });
}

async function disableEndpoint(tx: Tx, e: Pick<EndpointRow, 'id' | 'url'>, reason: string) {
  const [done] = await tx
    .update(webhookEndpoints)
    .set({ disabledAt: new Date(), disabledReason: reason, updatedAt: new Date() })
    .where(and(eq(webhookEndpoints.id, e.id), isNull(webhookEndpoints.disabledAt)))
    .returning({ id: webhookEndpoints.id });
  if (!done) return;
  // Its other pending deliveries fail when they are next due; recover sends them once it is enabled again.
  await tx.insert(alerts).values({
    kind: 'webhook_endpoint_disabled',
    orderId: null,
    message: `Webhook endpoint ${e.url} was disabled: ${reason}`,
    data: { endpointId: e.id, url: e.url, reason },
  });
  log('webhooks').warn({ endpointId: e.id, reason }, 'webhook endpoint disabled');
}

/** Starts a new round for a delivery (resend, recover), due at once: attempts from zero, an attempt of the earlier round in flight becomes stale. The caller wakes the dispatchers. */
async function restartDelivery(tx: Tx, endpointId: string, messageId: string) {
  const now = new Date();
  const [d] = await tx
    .insert(webhookDeliveries)
    .values({ endpointId, messageId, nextAttemptAt: now })
    .onConflictDoUpdate({
      target: [webhookDeliveries.endpointId, webhookDeliveries.messageId],
      set: { status: 'pending', attempts: 0, round: sql`${webhookDeliveries.round} + 1`, nextAttemptAt: now, leasedUntil: null, succeededAt: null },
    })
    .returning({ id: webhookDeliveries.id, endpointId: webhookDeliveries.endpointId, round: webhookDeliveries.round });
  return d!;
}

/** Sends an event again to one endpoint, or to every active endpoint that takes its type. */
export async function resendEvent(deps: Deps, actor: AuditActor, eventId: string, endpointId?: string) {
  const done = await deps.db.transaction(async (tx) => {
    const [event] = await tx
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.id, Number(eventId.slice(4))));
    if (!event) throw new AppError('NOT_FOUND', 'No event with this id');
    let targets = await activeEndpoints(tx);
    if (endpointId) {
      targets = targets.filter((e) => e.id === endpointId);
      if (!targets.length) throw new AppError('NOT_FOUND', 'No active webhook endpoint with this id');
    } else targets = targets.filter((e) => matches(e, event.topic));
    const messageId = (await ensureMessages(deps, tx, [event])).get(event.id)!;
    const deliveries = [];
    for (const e of targets) deliveries.push(await restartDelivery(tx, e.id, messageId));
    await appendAudit(tx, actor, { action: 'webhook.resend', objectType: 'event', objectId: eventId, after: { endpoints: targets.map((t) => t.id) } });
    return { eventId, deliveries: deliveries.map((d) => ({ id: d.id, endpointId: d.endpointId })) };
  });
  if (done.deliveries.length) wakeDispatchers(deps);
  return done;
}

/** "Send test event": a `webhook.test` message to this endpoint only, delivered like any other. */
export async function sendTestEvent(deps: Deps, actor: AuditActor, endpointId: string) {
  const done = await deps.db.transaction(async (tx) => {
    const [e] = await tx
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, endpointId), isNull(webhookEndpoints.deletedAt)));
    if (!e) throw new AppError('NOT_FOUND', 'No webhook endpoint with this id');
    if (e.disabledAt) throw new AppError('CONFLICT', 'The endpoint is disabled: enable it first');
    const id = `evt_test_${crypto.randomUUID().replaceAll('-', '')}`;
    const createdAt = new Date();
    const body = JSON.stringify({
      id,
      type: TEST_EVENT_TYPE,
      createdAt: createdAt.toISOString(),
      orderId: null,
      data: { message: 'A test event from Scanpay: your endpoint is reachable and verifies signatures.' },
      version: 1,
    });
    await tx.insert(webhookMessages).values({ id, type: TEST_EVENT_TYPE, body, createdAt });
    const d = await restartDelivery(tx, endpointId, id);
    await appendAudit(tx, actor, { action: 'webhook.test', objectType: 'webhook_endpoint', objectId: endpointId, after: { messageId: id } });
    return { eventId: id, deliveryId: d.id };
  });
  wakeDispatchers(deps);
  return done;
}

export type RecoveryView = { id: string; endpointId: string; since: string; status: string; total: number | null; done: number };
const recoveryView = (r: typeof webhookRecoveries.$inferSelect): RecoveryView => ({
  id: r.id,
  endpointId: r.endpointId,
  since: r.since.toISOString(),
  status: r.status,
  total: r.total,
  done: r.done,
});

/** "Recover": every failed delivery to the endpoint since a time is sent again, by a job with progress. */
export async function startRecovery(deps: Deps, actor: AuditActor, endpointId: string, since: Date): Promise<RecoveryView> {
  return deps.db.transaction(async (tx) => {
    const [e] = await tx
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, endpointId), isNull(webhookEndpoints.deletedAt)));
    if (!e) throw new AppError('NOT_FOUND', 'No webhook endpoint with this id');
    if (e.disabledAt) throw new AppError('CONFLICT', 'The endpoint is disabled: enable it first');
    const [r] = await tx.insert(webhookRecoveries).values({ endpointId, since }).returning();
    await enqueue(tx, QUEUE.webhooksRecover, { version: 1, recoveryId: r!.id }, { id: causeId('webhook.recover', r!.id) });
    await appendAudit(tx, actor, {
      action: 'webhook.recover',
      objectType: 'webhook_endpoint',
      objectId: endpointId,
      after: { since: since.toISOString(), recoveryId: r!.id },
    });
    return recoveryView(r!);
  });
}

export async function getRecovery(deps: Deps, endpointId: string, recoveryId: string): Promise<RecoveryView> {
  const [r] = await deps.db
    .select()
    .from(webhookRecoveries)
    .where(and(eq(webhookRecoveries.id, recoveryId), eq(webhookRecoveries.endpointId, endpointId)));
  if (!r) throw new AppError('NOT_FOUND', 'No recovery with this id');
  return recoveryView(r);
}

const RECOVERY_CHUNK = 100;

/** webhooks.recover: restarts the failed deliveries in chunks, counting progress; a retried job goes on where it was. */
export async function runRecovery(deps: Deps, recoveryId: string): Promise<RecoveryView> {
  const [r] = await deps.db.select().from(webhookRecoveries).where(eq(webhookRecoveries.id, recoveryId));
  if (!r) throw new Error(`recovery ${recoveryId} not found`);
  if (r.status === 'done') return recoveryView(r);
  const failed = sql`d.endpoint_id = ${r.endpointId} and d.status = 'failed' and m.created_at >= ${r.since.toISOString()}::timestamptz and d.created_at <= ${r.createdAt.toISOString()}::timestamptz`;
  const [count] = await deps.db.execute<{ n: number }>(
    sql`select count(*)::int as n from webhook_deliveries d join webhook_messages m on m.id = d.message_id where ${failed}`,
  );
  await deps.db
    .update(webhookRecoveries)
    .set({ status: 'running', total: r.done + (count?.n ?? 0) })
    .where(eq(webhookRecoveries.id, recoveryId));
  for (;;) {
    const moved = await deps.db.transaction(async (tx) => {
      const rows = await tx.execute<{ message_id: string }>(sql`
        select d.message_id from webhook_deliveries d join webhook_messages m on m.id = d.message_id
        where ${failed} order by m.created_at limit ${RECOVERY_CHUNK} for update of d skip locked`);
      for (const row of rows) await restartDelivery(tx, r.endpointId, row.message_id);
      if (rows.length)
        await tx
          .update(webhookRecoveries)
          .set({ done: sql`${webhookRecoveries.done} + ${rows.length}` })
          .where(eq(webhookRecoveries.id, recoveryId));
      return rows.length;
    });
    if (moved) wakeDispatchers(deps);
    if (moved < RECOVERY_CHUNK) break;
  }
  const [finished] = await deps.db
    .update(webhookRecoveries)
    .set({ status: 'done', finishedAt: new Date() })
    .where(eq(webhookRecoveries.id, recoveryId))
    .returning();
  return recoveryView(finished!);
}

export interface AttemptListItem {
  id: number;
  at: Date;
  endpointId: string;
  url: string;
  messageId: string;
  orderId: string | null;
  attempt: number;
  status: number | null;
  latencyMs: number;
  outcome: string;
  error: string | null;
  requestHeaders: Record<string, string>;
  requestBody: string;
  responseBody: string | null;
}

/** The delivery log, newest first: of one endpoint, one order, or everything. */
export async function listAttempts(db: Deps['db'], filter: { endpointId?: string; orderId?: string; limit?: number }): Promise<AttemptListItem[]> {
  const conds = [];
  if (filter.endpointId) conds.push(eq(webhookAttempts.endpointId, filter.endpointId));
  if (filter.orderId) conds.push(eq(webhookAttempts.orderId, filter.orderId));
  const rows = await db
    .select()
    .from(webhookAttempts)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(sql`${webhookAttempts.id} desc`)
    .limit(filter.limit ?? 100);
  return rows.map((r) => ({
    id: r.id,
    at: r.createdAt,
    endpointId: r.endpointId,
    url: r.url,
    messageId: r.messageId,
    orderId: r.orderId,
    attempt: r.attempt,
    status: r.responseStatus,
    latencyMs: r.latencyMs,
    outcome: r.outcome,
    error: r.error,
    requestHeaders: r.requestHeaders,
    requestBody: r.requestBody,
    responseBody: r.responseBody,
  }));
}
