// Webhook endpoints: the one module that creates, changes, rotates, disables and deletes them, and reads
// their health. The secret leaves this module only from create and rotate.
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { webhookEndpoints } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import { EVENT_TYPES } from '@/server/outbox/events';
import { newWebhookSecret } from './signing';

/** After a rotation the old secret still signs (a second signature) this long. */
export const ROTATION_OVERLAP_HOURS = 24;

const RESERVED_HEADERS = /^(webhook-|content-|host$|connection$|transfer-encoding$|user-agent$)/i;

const Headers = z
  .record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name is letters, digits and dashes'), z.string().max(1000))
  .refine((h) => Object.keys(h).length <= 10, 'at most 10 headers')
  .refine(
    (h) => !Object.keys(h).some((k) => RESERVED_HEADERS.test(k)),
    'webhook-*, content-*, host, connection, transfer-encoding and user-agent are set by Scanpay',
  )
  .meta({ description: 'Extra headers sent with every request (e.g. an auth header of your gateway).' });

const Url = z
  .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
  .max(2000)
  .meta({ description: 'Where events are POSTed. https in live mode.' });

export const EndpointInput = z
  .object({
    url: Url,
    events: z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length).optional().meta({ description: 'The event types it receives; all when absent or empty.' }),
    description: z.string().trim().max(500).optional(),
    headers: Headers.optional(),
  })
  .strict()
  .meta({ id: 'WebhookEndpointInput' });
export const EndpointPatch = z
  .object({
    url: Url.optional(),
    events: z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length).optional(),
    description: z.string().trim().max(500).optional(),
    headers: Headers.optional(),
    disabled: z.boolean().optional().meta({ description: 'false re-enables an endpoint that was disabled.' }),
  })
  .strict()
  .meta({ id: 'WebhookEndpointPatch' });

export const EndpointHealth = z
  .object({
    attempts24h: z.number().int(),
    successRate24h: z.number().nullable().meta({ description: 'Share of the last 24 h attempts answered 2xx; null without attempts.' }),
    p95LatencyMs24h: z.number().int().nullable(),
    lastError: z.object({ at: z.string(), status: z.number().int().nullable(), error: z.string().nullable() }).nullable(),
    pending: z.number().int().meta({ description: 'Deliveries not yet through: due, waiting for a retry, or in flight.' }),
    inFlight: z.number().int().meta({ description: 'Attempts being sent right now (at most WEBHOOK_ENDPOINT_CONCURRENCY).' }),
  })
  .meta({ id: 'WebhookEndpointHealth' });

export const Endpoint = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string(),
    events: z.array(z.string()),
    headers: z.record(z.string(), z.string()),
    disabled: z.boolean(),
    disabledReason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    health: EndpointHealth,
    secret: z.string().optional().meta({ description: 'whsec_…: only in the answers of create and rotate-secret.' }),
  })
  .meta({ id: 'WebhookEndpoint' });
export type EndpointView = z.infer<typeof Endpoint>;
type Row = typeof webhookEndpoints.$inferSelect;

function checkUrl(url: string, mode: 'simulator' | 'live') {
  if (mode !== 'live') return;
  const u = new URL(url);
  if (u.protocol !== 'https:')
    throw new AppError('BAD_REQUEST', 'In live mode a webhook URL must be https', { details: [{ path: 'body.url', message: 'must be https' }] });
  if (/^(localhost|127\.|10\.|192\.168\.|169\.254\.|172\.(1[6-9]|2\d|3[01])\.|\[)/i.test(u.hostname)) {
    throw new AppError('BAD_REQUEST', 'A webhook URL must be a public address', {
      details: [{ path: 'body.url', message: 'private, loopback and link-local addresses are refused' }],
    });
  }
}

export async function endpointHealth(db: DbOrTx, id: string): Promise<EndpointView['health']> {
  const [stats] = await db.execute<{ n: number; ok: number; p95: number | null }>(sql`
    select count(*)::int as n, count(*) filter (where response_status between 200 and 299)::int as ok,
           (percentile_cont(0.95) within group (order by latency_ms))::int as p95
    from webhook_attempts where endpoint_id = ${id} and created_at > now() - interval '24 hours'`);
  const [last] = await db.execute<{ created_at: string; response_status: number | null; error: string | null }>(sql`
    select created_at, response_status, error from webhook_attempts
    where endpoint_id = ${id} and (response_status is null or response_status not between 200 and 299)
    order by id desc limit 1`);
  const [queued] = await db.execute<{ pending: number; in_flight: number }>(sql`
    select count(*)::int as pending, count(*) filter (where leased_until > now())::int as in_flight
    from webhook_deliveries where endpoint_id = ${id} and status = 'pending'`);
  const n = stats?.n ?? 0;
  return {
    attempts24h: n,
    successRate24h: n ? stats!.ok / n : null,
    p95LatencyMs24h: stats?.p95 ?? null,
    lastError: last ? { at: new Date(last.created_at).toISOString(), status: last.response_status, error: last.error } : null,
    pending: queued?.pending ?? 0,
    inFlight: queued?.in_flight ?? 0,
  };
}

async function view(db: DbOrTx, row: Row, secret?: string): Promise<EndpointView> {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.eventTypes,
    headers: row.headers,
    disabled: row.disabledAt !== null,
    disabledReason: row.disabledReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    health: await endpointHealth(db, row.id),
    ...(secret ? { secret } : {}),
  };
}

async function requireEndpoint(db: DbOrTx, id: string): Promise<Row> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), isNull(webhookEndpoints.deletedAt)));
  if (!row) throw new AppError('NOT_FOUND', 'No webhook endpoint with this id');
  return row;
}

export async function createEndpoint(db: DbOrTx, actor: AuditActor, input: z.infer<typeof EndpointInput>, mode: 'simulator' | 'live'): Promise<EndpointView> {
  checkUrl(input.url, mode);
  const secret = newWebhookSecret();
  const [row] = await db
    .insert(webhookEndpoints)
    .values({ url: input.url, description: input.description ?? '', eventTypes: [...new Set(input.events ?? [])], headers: input.headers ?? {}, secret })
    .returning();
  await appendAudit(db, actor, {
    action: 'webhook_endpoint.create',
    objectType: 'webhook_endpoint',
    objectId: row!.id,
    after: { url: row!.url, events: row!.eventTypes },
  });
  return view(db, row!, secret);
}

export async function listEndpoints(db: DbOrTx): Promise<EndpointView[]> {
  const rows = await db.select().from(webhookEndpoints).where(isNull(webhookEndpoints.deletedAt)).orderBy(desc(webhookEndpoints.createdAt));
  return Promise.all(rows.map((r) => view(db, r)));
}

export async function getEndpoint(db: DbOrTx, id: string): Promise<EndpointView> {
  return view(db, await requireEndpoint(db, id));
}

export async function updateEndpoint(
  db: DbOrTx,
  actor: AuditActor,
  id: string,
  patch: z.infer<typeof EndpointPatch>,
  mode: 'simulator' | 'live',
): Promise<EndpointView> {
  const before = await requireEndpoint(db, id);
  if (patch.url) checkUrl(patch.url, mode);
  const enable = patch.disabled === false && before.disabledAt !== null;
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      ...(patch.url ? { url: patch.url } : {}),
      ...(patch.events ? { eventTypes: [...new Set(patch.events)] } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.headers ? { headers: patch.headers } : {}),
      ...(enable ? { disabledAt: null, disabledReason: null, failingSince: null } : {}),
      ...(patch.disabled === true && !before.disabledAt ? { disabledAt: new Date(), disabledReason: 'disabled by the merchant' } : {}),
      updatedAt: new Date(),
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  await appendAudit(db, actor, {
    action: 'webhook_endpoint.update',
    objectType: 'webhook_endpoint',
    objectId: id,
    before: { url: before.url, events: before.eventTypes, disabled: before.disabledAt !== null },
    after: { url: row!.url, events: row!.eventTypes, disabled: row!.disabledAt !== null },
  });
  return view(db, row!);
}

/** Deleted endpoints get nothing more; their attempt log stays (the order timelines keep showing it). */
export async function deleteEndpoint(db: DbOrTx, actor: AuditActor, id: string): Promise<void> {
  const before = await requireEndpoint(db, id);
  await db
    .update(webhookEndpoints)
    .set({ deletedAt: new Date(), disabledAt: before.disabledAt ?? new Date(), disabledReason: before.disabledReason ?? 'deleted' })
    .where(eq(webhookEndpoints.id, id));
  await appendAudit(db, actor, { action: 'webhook_endpoint.delete', objectType: 'webhook_endpoint', objectId: id, before: { url: before.url } });
}

/** A new secret; the old one keeps signing beside it for ROTATION_OVERLAP_HOURS so receivers can switch. */
export async function rotateSecret(db: DbOrTx, actor: AuditActor, id: string): Promise<EndpointView> {
  await requireEndpoint(db, id);
  const secret = newWebhookSecret();
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      previousSecret: sql`${webhookEndpoints.secret}`,
      previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_HOURS * 3600_000),
      secret,
      updatedAt: new Date(),
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  await appendAudit(db, actor, { action: 'webhook_endpoint.rotate_secret', objectType: 'webhook_endpoint', objectId: id });
  return view(db, row!, secret);
}

/** The secrets a request is signed with now: the current one, and the previous one during its overlap. */
export function signingSecrets(row: Pick<Row, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>, now = new Date()): string[] {
  return row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now ? [row.secret, row.previousSecret] : [row.secret];
}
