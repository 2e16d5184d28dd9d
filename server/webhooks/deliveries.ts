// Webhook deliveries: the one module that writes messages, deliveries and attempts. The outbox relay's
// batches fan out to one delivery per matching endpoint (idempotent: unique per endpoint and message);
// each attempt is its own job, scheduled by us (server/webhooks/schedule.ts); every attempt is logged.
// A delivery job carries (round, attempt): a job that is not the delivery's next step is stale and does
// nothing, so a duplicate job (a worker killed after sending) costs one extra request, never a lost one.
import { and, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { alerts, outboxEvents, webhookAttempts, webhookDeliveries, webhookEndpoints, webhookMessages, webhookRecoveries } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import type { AppDeps } from '@/server/deps';
import { AppError } from '@/server/errors';
import { log } from '@/server/log';
import { QUEUE } from '@/server/queue/catalogue';
import { enqueue, enqueueAll } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { signingSecrets } from './endpoints';
import { buildEventPayloads } from './payload';
import { MAX_ATTEMPTS, parseRetryAfter, retryDelayMs } from './schedule';
import type { Sender } from './send';
import { signatureHeader } from './signing';

type Deps = Pick<AppDeps, 'db' | 'env'>;
type EndpointRow = typeof webhookEndpoints.$inferSelect;

export const TEST_EVENT_TYPE = 'webhook.test';

const matches = (endpoint: Pick<EndpointRow, 'eventTypes'>, type: string) => endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(type);

async function activeEndpoints(tx: Tx): Promise<EndpointRow[]> {
  return tx
    .select()
    .from(webhookEndpoints)
    .where(and(isNull(webhookEndpoints.disabledAt), isNull(webhookEndpoints.deletedAt)));
}

/** Enqueues attempts of deliveries (in the caller's transaction), in one statement. */
async function enqueueAttempts(tx: Tx, attempts: readonly { d: { id: string; endpointId: string; round: number }; attempt: number; startAfter?: Date }[]) {
  await enqueueAll(
    tx,
    QUEUE.webhooksDeliver,
    attempts.map(({ d, attempt, startAfter }) => ({
      data: { version: 1 as const, deliveryId: d.id, round: d.round, attempt },
      options: { id: causeId('webhook.deliver', d.id, d.round, attempt), startAfter, groupId: d.endpointId },
    })),
  );
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

/** webhooks.fanout: one delivery per (event, matching endpoint), each with its first attempt enqueued — a relay batch in a few statements. */
export async function fanoutEvents(deps: Deps, eventIds: readonly number[]): Promise<{ messages: number; deliveries: number }> {
  return deps.db.transaction(async (tx) => {
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
    const rows = await tx
      .insert(webhookDeliveries)
      .values(
        wanted.flatMap(({ event, targets }) => targets.map((e) => ({ endpointId: e.id, messageId: messageIds.get(event.id)!, nextAttemptAt: new Date() }))),
      )
      .onConflictDoNothing()
      .returning({ id: webhookDeliveries.id, endpointId: webhookDeliveries.endpointId, round: webhookDeliveries.round });
    await enqueueAttempts(
      tx,
      rows.map((d) => ({ d, attempt: 1 })),
    );
    return { messages: events.length, deliveries: rows.length };
  });
}

/** Custom header values may be credentials: the attempt log keeps their names only. */
function loggedHeaders(headers: Record<string, string>, custom: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, k in custom ? '[redacted]' : v]));
}

export type AttemptOutcome = 'succeeded' | 'retry' | 'failed' | 'disabled' | 'stale' | 'missing' | 'endpoint_disabled';

export interface DeliverJob {
  deliveryId: string;
  round: number;
  attempt: number;
}

/** One attempt: a batch of one. */
export async function deliverAttempt(deps: AppDeps, sender: Sender, job: DeliverJob): Promise<AttemptOutcome> {
  const [outcome] = await deliverAttempts(deps, sender, [job]);
  return outcome!;
}

type DeliveryRow = { d: typeof webhookDeliveries.$inferSelect; e: EndpointRow; m: typeof webhookMessages.$inferSelect };

/**
 * webhooks.deliver: a batch of attempts — each signed afresh and POSTed side by side, then every outcome
 * decided and written in one transaction (one read and a handful of statements per batch, not per attempt:
 * at high rates the database's work per delivery is what limits throughput). Outcomes in the jobs' order.
 */
export async function deliverAttempts(deps: AppDeps, sender: Sender, jobs: readonly DeliverJob[]): Promise<AttemptOutcome[]> {
  const { db, env } = deps;
  const outcomes: AttemptOutcome[] = jobs.map(() => 'missing');
  if (!jobs.length) return outcomes;
  const found = await db
    .select({ d: webhookDeliveries, e: webhookEndpoints, m: webhookMessages })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .innerJoin(webhookMessages, eq(webhookMessages.id, webhookDeliveries.messageId))
    .where(inArray(webhookDeliveries.id, [...new Set(jobs.map((j) => j.deliveryId))]));
  const byId = new Map(found.map((r) => [r.d.id, r]));

  const due: { i: number; job: DeliverJob; row: DeliveryRow }[] = [];
  const taken = new Set<string>();
  for (const [i, job] of jobs.entries()) {
    const row = byId.get(job.deliveryId);
    if (!row) continue;
    const { d, e } = row;
    if (taken.has(d.id) || d.status !== 'pending' || d.round !== job.round || d.attempts !== job.attempt - 1) {
      outcomes[i] = 'stale';
      continue;
    }
    taken.add(d.id);
    if (e.disabledAt || e.deletedAt) {
      await db
        .update(webhookDeliveries)
        .set({ status: 'failed', nextAttemptAt: null })
        .where(and(eq(webhookDeliveries.id, d.id), eq(webhookDeliveries.round, job.round), eq(webhookDeliveries.status, 'pending')));
      outcomes[i] = 'endpoint_disabled';
      continue;
    }
    due.push({ i, job, row });
  }
  if (!due.length) return outcomes;

  const now = deps.clock.now();
  const timestamp = Math.floor(now.getTime() / 1000);
  const sent = await Promise.all(
    due.map(async ({ i, job, row }) => {
      const { e, m } = row;
      const headers: Record<string, string> = {
        ...e.headers,
        'content-type': 'application/json',
        'user-agent': 'Scanpay-Webhooks/1',
        'webhook-id': m.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(signingSecrets(e, now), m.id, timestamp, m.body),
      };
      const r = await sender.send(e.url, headers, m.body, env.WEBHOOK_TIMEOUT_MS);
      const ok = r.status !== null && r.status >= 200 && r.status < 300;
      return { i, job, row, headers, r, ok };
    }),
  );

  return db.transaction(async (tx) => {
    const scale = env.WEBHOOK_RETRY_SCALE;
    // Each endpoint's health once, in id order (two batches locking endpoints in different orders could
    // deadlock): one that answered 2xx is up (failing_since cleared, written only if set, so a healthy
    // endpoint's row is never locked); one that only failed is failing since its first failure after the
    // last success (now, if none before).
    const failingSince = new Map<string, Date>();
    const endpointIds = [...new Set(sent.map((s) => s.row.e.id))].sort();
    const up = endpointIds.filter((id) => sent.some((s) => s.ok && s.row.e.id === id));
    if (up.length)
      await tx
        .update(webhookEndpoints)
        .set({ failingSince: null })
        .where(and(inArray(webhookEndpoints.id, up), isNotNull(webhookEndpoints.failingSince)));
    for (const id of endpointIds) {
      const mine = sent.filter((s) => s.row.e.id === id);
      if (!mine.some((s) => s.ok) && mine.some((s) => s.r.status !== 410)) {
        const [endpoint] = await tx
          .update(webhookEndpoints)
          .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, now())` })
          .where(eq(webhookEndpoints.id, id))
          .returning({ failingSince: webhookEndpoints.failingSince });
        failingSince.set(id, endpoint?.failingSince ?? now);
      }
    }

    const decided = sent.map((s) => {
      let outcome: AttemptOutcome;
      let next: Date | null = null;
      if (s.ok) outcome = 'succeeded';
      else if (s.r.status === 410) outcome = 'disabled';
      else {
        const failingMs = now.getTime() - (failingSince.get(s.row.e.id) ?? now).getTime();
        if (failingMs > env.WEBHOOK_DISABLE_AFTER_DAYS * 86_400_000 * scale) outcome = 'disabled';
        else {
          const throttled = s.r.status === 429 || s.r.status === 503;
          const delay =
            s.job.attempt < MAX_ATTEMPTS
              ? retryDelayMs(s.job.attempt + 1, scale, throttled ? parseRetryAfter(s.r.headers['retry-after'], now.getTime()) : null)
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

    // Every delivery moved in one statement, each only if it is still at the step its job was for.
    const steps = decided.map((s) => ({
      id: s.row.d.id,
      round: s.job.round,
      attempt: s.job.attempt,
      status: s.outcome === 'succeeded' ? 'succeeded' : s.outcome === 'retry' ? 'pending' : 'failed',
      next: s.next?.toISOString() ?? null,
      succeeded: s.ok ? now.toISOString() : null,
    }));
    const moved = await tx.execute<{ id: string }>(sql`
      update ${webhookDeliveries} d set attempts = v.attempt, last_attempt_at = ${now.toISOString()}::timestamptz, status = v.status,
        next_attempt_at = v.next, succeeded_at = v.succeeded
      from jsonb_to_recordset(${JSON.stringify(steps)}::jsonb) as v(id uuid, round int, attempt int, status text, next timestamptz, succeeded timestamptz)
      where d.id = any(${`{${steps.map((x) => x.id).join(',')}}`}::uuid[]) -- so the plan is a primary-key lookup, whatever the estimate for the JSON rows
        and d.id = v.id and d.round = v.round and d.attempts = v.attempt - 1 and d.status = 'pending'
      returning d.id`);
    const movedIds = new Set(moved.map((r) => r.id));

    await tx.insert(webhookAttempts).values(
      decided.map(({ row: { d, e, m }, job, headers, r, ok, outcome }) => ({
        deliveryId: d.id,
        endpointId: e.id,
        messageId: m.id,
        orderId: m.orderId,
        attempt: job.attempt,
        url: e.url,
        requestHeaders: loggedHeaders(headers, e.headers),
        requestBody: m.body,
        responseStatus: r.status,
        responseBody: r.body,
        latencyMs: r.latencyMs,
        error: r.error ?? (ok ? null : `HTTP ${r.status}`),
        outcome: movedIds.has(d.id) ? outcome : 'stale',
        createdAt: now,
      })),
    );

    const disabled = new Map<string, { e: EndpointRow; status: number | null }>();
    const retries = [];
    for (const s of decided) {
      if (!movedIds.has(s.row.d.id)) {
        outcomes[s.i] = 'stale';
        continue;
      }
      outcomes[s.i] = s.outcome;
      if (s.outcome === 'retry')
        retries.push({ d: { id: s.row.d.id, endpointId: s.row.e.id, round: s.job.round }, attempt: s.job.attempt + 1, startAfter: s.next! });
      if (s.outcome === 'disabled' && !disabled.has(s.row.e.id)) disabled.set(s.row.e.id, { e: s.row.e, status: s.r.status });
    }
    await enqueueAttempts(tx, retries);
    for (const { e, status } of disabled.values())
      await disableEndpoint(tx, e, status === 410 ? 'the receiver answered 410 Gone' : `every delivery failed for ${env.WEBHOOK_DISABLE_AFTER_DAYS} days`);
    return outcomes;
  });
}

async function disableEndpoint(tx: Tx, e: EndpointRow, reason: string) {
  const [done] = await tx
    .update(webhookEndpoints)
    .set({ disabledAt: new Date(), disabledReason: reason, updatedAt: new Date() })
    .where(and(eq(webhookEndpoints.id, e.id), isNull(webhookEndpoints.disabledAt)))
    .returning({ id: webhookEndpoints.id });
  if (!done) return;
  // Its other pending deliveries stop at their next attempt; recover sends them once it is enabled again.
  await tx.insert(alerts).values({
    kind: 'webhook_endpoint_disabled',
    orderId: null,
    message: `Webhook endpoint ${e.url} was disabled: ${reason}`,
    data: { endpointId: e.id, url: e.url, reason },
  });
  log('webhooks').warn({ endpointId: e.id, reason }, 'webhook endpoint disabled');
}

/** Starts a new round for a delivery (resend, recover): attempts from zero, earlier jobs become stale. */
async function restartDelivery(tx: Tx, endpointId: string, messageId: string) {
  const [d] = await tx
    .insert(webhookDeliveries)
    .values({ endpointId, messageId, nextAttemptAt: new Date() })
    .onConflictDoUpdate({
      target: [webhookDeliveries.endpointId, webhookDeliveries.messageId],
      set: { status: 'pending', attempts: 0, round: sql`${webhookDeliveries.round} + 1`, nextAttemptAt: new Date(), succeededAt: null },
    })
    .returning({ id: webhookDeliveries.id, endpointId: webhookDeliveries.endpointId, round: webhookDeliveries.round });
  await enqueueAttempts(tx, [{ d: d!, attempt: 1 }]);
  return d!;
}

/** Sends an event again to one endpoint, or to every active endpoint that takes its type. */
export async function resendEvent(deps: Deps, actor: AuditActor, eventId: string, endpointId?: string) {
  return deps.db.transaction(async (tx) => {
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
}

/** "Send test event": a `webhook.test` message to this endpoint only, delivered like any other. */
export async function sendTestEvent(deps: Deps, actor: AuditActor, endpointId: string) {
  return deps.db.transaction(async (tx) => {
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
