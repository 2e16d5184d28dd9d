// Business-system integration: API keys, idempotency records of the REST API, webhook endpoints and the
// log of every delivery attempt (issue 15).
import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { orders } from './schema-core';

/**
 * API keys: only the SHA-256 of the secret is kept (the secret is 32 random bytes, so a slow hash adds
 * nothing). `prefix` (e.g. `sk_test_AbC1`) is what people see to tell keys apart.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** simulator keys are `sk_test_…`, live ones `sk_live_…` (WECHATPAY_MODE at creation). */
    mode: text('mode').notNull(),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull().unique(),
    scopes: text('scopes').array().notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    lastUsedIp: text('last_used_ip'),
    /** The key this one replaced in a roll (the old one keeps working until its expiry). */
    rolledFrom: uuid('rolled_from'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('api_keys_created_idx').on(t.createdAt)],
);

/**
 * One row per Idempotency-Key: taken (status null) before the request executes, so a concurrent second
 * request with the key finds it and does not execute; completed with the answer, which is replayed.
 */
export const apiIdempotencyKeys = pgTable(
  'api_idempotency_keys',
  {
    key: text('key').notNull(),
    /** SHA-256 of method, path and body: the same key with another request is refused (422). */
    requestHash: text('request_hash').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    apiKeyId: uuid('api_key_id').notNull(),
    status: integer('status'),
    responseBody: jsonb('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.key] }), index('api_idempotency_created_idx').on(t.createdAt)],
);

export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: uuid('id').primaryKey().defaultRandom(),
  url: text('url').notNull(),
  description: text('description').notNull().default(''),
  /** Event types it receives; empty: all. */
  eventTypes: text('event_types').array().notNull().default(sql`'{}'::text[]`),
  /** Extra request headers the receiver asked for (e.g. a static auth header of its gateway). */
  headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
  /** `whsec_<base64>`; needed in clear to sign. */
  secret: text('secret').notNull(),
  /** The secret before the last rotation: requests carry both signatures until it expires. */
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  disabledReason: text('disabled_reason'),
  /** First failure since the last success: failing for WEBHOOK_DISABLE_AFTER_DAYS disables the endpoint. */
  failingSince: timestamp('failing_since', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
});

/** One message per outbox event (and per test event): the body every endpoint gets, byte for byte. */
export const webhookMessages = pgTable(
  'webhook_messages',
  {
    /** The webhook-id header and the payload's `id`: `evt_<outbox id>` or `evt_test_<uuid>`. */
    id: text('id').primaryKey(),
    outboxEventId: bigint('outbox_event_id', { mode: 'number' }),
    type: text('type').notNull(),
    orderId: uuid('order_id').references(() => orders.id),
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webhook_messages_order_idx').on(t.orderId)],
);

/** A message on its way to one endpoint: `pending` until a 2xx (`succeeded`) or the schedule ends (`failed`). */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id),
    messageId: text('message_id')
      .notNull()
      .references(() => webhookMessages.id),
    status: text('status').notNull().default('pending'),
    /** Attempts made so far; the next deliver job carries attempts+1 (a stale job is a no-op). */
    attempts: integer('attempts').notNull().default(0),
    /** Bumped by a resend: a resend restarts the schedule, and jobs of the earlier round become stale. */
    round: integer('round').notNull().default(0),
    /** When the next attempt is due (a pending delivery); while an attempt is in flight, when its lease ends. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /** Set while a worker holds the delivery for an attempt (server/webhooks/deliveries.ts, claimDeliveries): past it, the attempt
     * is presumed lost (the worker died) and the delivery is due again. */
    leasedUntil: timestamp('leased_until', { withTimezone: true }),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    succeededAt: timestamp('succeeded_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_endpoint_message_idx').on(t.endpointId, t.messageId),
    index('webhook_deliveries_endpoint_status_idx').on(t.endpointId, t.status, t.createdAt),
    // The claim: each endpoint's due deliveries in order, and the attempts in flight (few rows).
    index('webhook_deliveries_due_idx').on(t.endpointId, t.nextAttemptAt).where(sql`status = 'pending'`),
    index('webhook_deliveries_leased_idx').on(t.endpointId).where(sql`status = 'pending' and leased_until is not null`),
  ],
);

/** Every attempt, as sent and as answered: kept WEBHOOK_ATTEMPT_RETENTION_DAYS (≥ 30), then pruned by the sweep. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id),
    endpointId: uuid('endpoint_id').notNull(),
    messageId: text('message_id').notNull(),
    orderId: uuid('order_id'),
    attempt: integer('attempt').notNull(),
    url: text('url').notNull(),
    requestHeaders: jsonb('request_headers').$type<Record<string, string>>().notNull(),
    requestBody: text('request_body').notNull(),
    responseStatus: integer('response_status'),
    /** The first 4 KB of the answer. */
    responseBody: text('response_body'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
    /** What happens next: succeeded, retry (with nextAttemptAt), failed, disabled. */
    outcome: text('outcome').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('webhook_attempts_endpoint_idx').on(t.endpointId, t.createdAt),
    index('webhook_attempts_delivery_idx').on(t.deliveryId, t.id),
    index('webhook_attempts_order_idx').on(t.orderId).where(sql`${t.orderId} is not null`),
    // The retention prune's batches take the oldest first.
    index('webhook_attempts_created_idx').on(t.createdAt),
  ],
);

/** "Recover failed events since a time" for one endpoint: a job walks them, `done` shows its progress. */
export const webhookRecoveries = pgTable('webhook_recoveries', {
  id: uuid('id').primaryKey().defaultRandom(),
  endpointId: uuid('endpoint_id')
    .notNull()
    .references(() => webhookEndpoints.id),
  since: timestamp('since', { withTimezone: true }).notNull(),
  status: text('status').notNull().default('queued'),
  total: integer('total'),
  done: integer('done').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
});
