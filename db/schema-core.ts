// The payment core's tables (orders, attempts, notifications, refunds, users, products, alerts …). Money is
// integer fen everywhere. The areas' tables are in db/schema-<area>.ts; db/schema.ts gathers them all.
import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** What the shopper and the merchant see. `review` = frozen for a human (mismatch, late payment). */
export const orderStatus = pgEnum('order_status', ['awaiting_payment', 'paid', 'closed', 'refunded', 'partially_refunded', 'review']);

/**
 * One WeChat order (one out_trade_no). `created`: row written, prepay not yet answered;
 * `awaiting_payment`: code_url issued; `paid` and `closed` are terminal.
 */
export const attemptStatus = pgEnum('attempt_status', ['created', 'awaiting_payment', 'paid', 'closed']);

/** Which path learned a fact: every path goes through the same domain function and says which it was. */
export const eventSource = pgEnum('event_source', ['notify', 'query', 'shopper', 'bill', 'admin', 'system']);

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
};

export const products = pgTable(
  'products',
  {
    id: text('id').primaryKey(),
    // Shopper-facing texts in both languages: the unsuffixed column is Chinese (zh-CN), `_en` English.
    // The Chinese name also makes the order description WeChat shows the payer, whatever the page's language.
    name: text('name').notNull(),
    nameEn: text('name_en').notNull(),
    /** One line under the name on the storefront. */
    tagline: text('tagline').notNull().default(''),
    taglineEn: text('tagline_en').notNull().default(''),
    /** A few sentences about the product. */
    description: text('description').notNull().default(''),
    descriptionEn: text('description_en').notNull().default(''),
    priceFen: integer('price_fen').notNull(),
    imageUrl: text('image_url'),
    position: integer('position').notNull().default(0),
    active: boolean('active').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('products_price_positive', sql`${t.priceFen} > 0`)],
);

export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The shopper's only handle on the order: 32 random bytes, base64url. Never a sequential id. */
    token: text('token').notNull().unique(),
    status: orderStatus('status').notNull().default('awaiting_payment'),
    amountFen: integer('amount_fen').notNull(),
    currency: text('currency').notNull().default('CNY'),
    description: text('description').notNull(),
    transactionId: text('transaction_id'),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    paidVia: eventSource('paid_via'),
    /** Why the order is in review: 'mismatch' | 'late_payment'. */
    reviewReason: text('review_reason'),
    refundedFen: integer('refunded_fen').notNull().default(0),
    clientIp: text('client_ip'),
    /** The business system's own order number (API-created orders): unique, so a retried create cannot double. */
    merchantOrderNo: text('merchant_order_no'),
    /** The business system's key/values, returned as given (API-created orders). */
    metadata: jsonb('metadata').$type<Record<string, string>>(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('orders_merchant_order_no_idx').on(t.merchantOrderNo),
    check('orders_amount_positive', sql`${t.amountFen} > 0`),
    index('orders_created_at_idx').on(t.createdAt),
    // The console's orders list: keyset pages on (created_at, id), per status, by paid time, id search.
    index('orders_created_id_idx').on(t.createdAt.desc(), t.id.desc()),
    index('orders_status_created_idx').on(t.status, t.createdAt.desc(), t.id.desc()),
    index('orders_paid_at_idx').on(t.paidAt.desc(), t.id.desc()).where(sql`${t.paidAt} is not null`),
    index('orders_transaction_id_idx').on(t.transactionId).where(sql`${t.transactionId} is not null`),
    index('orders_amount_idx').on(t.amountFen, t.createdAt.desc()),
    // "Learned via" filter: a rare path (bill, shopper) must not walk every order to fill a page.
    index('orders_paid_via_created_idx').on(t.paidVia, t.createdAt.desc(), t.id.desc()).where(sql`${t.paidVia} is not null`),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    productId: text('product_id')
      .notNull()
      .references(() => products.id),
    name: text('name').notNull(),
    unitPriceFen: integer('unit_price_fen').notNull(),
    quantity: integer('quantity').notNull(),
  },
  (t) => [index('order_items_order_idx').on(t.orderId), check('order_items_quantity_positive', sql`${t.quantity} > 0`)],
);

export const paymentAttempts = pgTable(
  'payment_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    outTradeNo: text('out_trade_no').notNull().unique(),
    status: attemptStatus('status').notNull().default('created'),
    amountFen: integer('amount_fen').notNull(),
    /**
     * The exact description and time_expire strings sent to WeChat: a retried prepay must repeat them
     * byte for byte or WeChat answers OUT_TRADE_NO_USED.
     */
    description: text('description').notNull(),
    timeExpire: text('time_expire').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    codeUrl: text('code_url'),
    prepayError: text('prepay_error'),
    transactionId: text('transaction_id'),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    /** How this attempt was found paid: notify, query, shopper, bill. */
    paidVia: eventSource('paid_via'),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    /** Last time we asked WeChat about this attempt (active query, shopper check, expiry). */
    lastCheckedAt: timestamp('last_checked_at', { withTimezone: true }),
    /** Set when money arrived for this attempt after we gave up on it or the order was already paid. */
    latePayment: text('late_payment'),
    ...timestamps,
  },
  (t) => [
    index('payment_attempts_order_idx').on(t.orderId),
    index('payment_attempts_transaction_id_idx').on(t.transactionId).where(sql`${t.transactionId} is not null`),
    index('payment_attempts_late_idx').on(t.latePayment, t.orderId).where(sql`${t.latePayment} is not null`),
    index('payment_attempts_open_idx').on(t.expiresAt).where(sql`${t.status} in ('created', 'awaiting_payment')`),
    check('payment_attempts_amount_positive', sql`${t.amountFen} > 0`),
  ],
);

/** Append-only timeline of everything that happened to an order, and through which path. */
export const orderEvents = pgTable(
  'order_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    attemptId: uuid('attempt_id').references(() => paymentAttempts.id),
    type: text('type').notNull(),
    source: eventSource('source').notNull(),
    data: jsonb('data').notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('order_events_order_idx').on(t.orderId, t.id)],
);

/**
 * The notification inbox: every verified WeChat notification, stored before we acknowledge it,
 * unique on WeChat's notification id so a redelivery is recognised. Never deleted by the happy path.
 */
export const wechatpayNotifications = pgTable(
  'wechatpay_notifications',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    notificationId: text('notification_id').notNull().unique(),
    eventType: text('event_type').notNull(),
    resourceType: text('resource_type').notNull(),
    summary: text('summary'),
    createTime: text('create_time'),
    /** Key that verified the signature: platform-certificate serial or PUB_KEY_ID_... */
    serial: text('serial').notNull(),
    /** The decrypted resource (transaction or refund), as WeChat sent it. */
    resource: jsonb('resource').notNull(),
    deliveries: integer('deliveries').notNull().default(1),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    lastReceivedAt: timestamp('last_received_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
    /** What processing concluded: applied, duplicate, ignored, mismatch... */
    outcome: text('outcome'),
  },
  (t) => [
    index('wechatpay_notifications_unprocessed_idx').on(t.receivedAt).where(sql`${t.processedAt} is null`),
    // The console's order timeline finds an order's notifications by the out_trade_no inside them.
    index('wechatpay_notifications_out_trade_no_idx').on(sql`(${t.resource}->>'out_trade_no')`),
  ],
);

/**
 * Notifications we refused (bad signature, stale timestamp, undecryptable...), counted per reason and
 * minute: evidence, never acted on, bounded whatever a flood of forgeries sends.
 */
export const wechatpayNotificationRejects = pgTable(
  'wechatpay_notification_reject_counts',
  {
    minute: timestamp('minute', { withTimezone: true }).notNull(),
    reason: text('reason').notNull(),
    count: integer('count').notNull(),
    /** Wechatpay-Serial of the latest request in the minute (which key the sender claimed). */
    lastSerial: text('last_serial'),
  },
  (t) => [primaryKey({ columns: [t.minute, t.reason] })],
);

/**
 * `pending_approval`: above the approval threshold, waiting for a second person (nothing sent);
 * `rejected`: the approver said no (nothing sent); `requested`: written with its job, not yet accepted by
 * WeChat; `processing` / `succeeded` / `closed` / `abnormal`: WeChat's word; `failed`: WeChat refused the
 * request and confirms it holds no refund of that number (nothing moved).
 */
export const refundStatus = pgEnum('refund_status', ['pending_approval', 'rejected', 'requested', 'processing', 'succeeded', 'closed', 'abnormal', 'failed']);

/**
 * Refunds: late/double payments (automatic), merchant refunds from the console and the API, re-applications
 * of CLOSED refunds, and refunds found in a bill that were made in WeChat's merchant platform. The one
 * writer is server/refunds/.
 */
export const refunds = pgTable(
  'refunds',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    attemptId: uuid('attempt_id')
      .notNull()
      .references(() => paymentAttempts.id),
    /** Made once with the row and reused by every retry, so a retried request can never refund twice. */
    outRefundNo: text('out_refund_no').notNull().unique(),
    amountFen: integer('amount_fen').notNull(),
    reason: text('reason').notNull(),
    /** 'late_payment' | 'merchant' | 'external' (made in WeChat's merchant platform, found in a bill). */
    kind: text('kind').notNull(),
    status: refundStatus('status').notNull().default('requested'),
    refundId: text('refund_id'),
    lastError: text('last_error'),
    /** 'merchant' (console) | 'api' | 'system' (late/double payments) | 'bill' (external). */
    initiatedBy: text('initiated_by').notNull().default('system'),
    requestedById: text('requested_by_id'),
    requestedByEmail: text('requested_by_email'),
    /** A repeated request with the same key (API retry, double click) returns this row. */
    idempotencyKey: text('idempotency_key').unique(),
    /** The CLOSED refund this one re-applies (with a new out_refund_no). */
    replacesRefundId: uuid('replaces_refund_id').unique(),
    decidedById: text('decided_by_id'),
    decidedByEmail: text('decided_by_email'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    /** When the request may go to WeChat: one WeChat order's refunds are spaced (WeChat: ≥ 1 minute). */
    sendAfter: timestamp('send_after', { withTimezone: true }),
    /** WeChat accepted the request (200 with a refund_id). */
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    /** Next active query while PROCESSING (step of REFUND_QUERY_SCHEDULE). */
    nextQueryAt: timestamp('next_query_at', { withTimezone: true }),
    queryStep: integer('query_step').notNull().default(0),
    /** How an ABNORMAL refund was handled: 'USER_BANK_CARD' | 'MERCHANT_BANK_CARD' | 'MERCHANT_PLATFORM'. */
    abnormalResolution: text('abnormal_resolution'),
    succeededAt: timestamp('succeeded_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    index('refunds_order_idx').on(t.orderId),
    index('refunds_attempt_idx').on(t.attemptId, t.createdAt),
    index('refunds_status_idx').on(t.status, t.createdAt),
    index('refunds_requester_day_idx').on(t.requestedById, t.createdAt),
    index('refunds_refund_id_idx').on(t.refundId).where(sql`${t.refundId} is not null`),
    check('refunds_amount_positive', sql`${t.amountFen} > 0`),
  ],
);

/**
 * Transactional outbox: business events written in the same transaction as the state change they
 * describe, for consumers that come later (merchant webhooks, statistics). Unique per cause.
 */
export const outboxEvents = pgTable(
  'outbox_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    topic: text('topic').notNull(),
    /** Null for events about no order (alerts, an external trade found in a bill). */
    orderId: uuid('order_id').references(() => orders.id),
    dedupeKey: text('dedupe_key').notNull().unique(),
    payload: jsonb('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    publishedAt: timestamp('published_at', { withTimezone: true }),
  },
  (t) => [index('outbox_events_unpublished_idx').on(t.id).where(sql`${t.publishedAt} is null`)],
);

/**
 * Things a human must look at: mismatched notifications, late payments under the review policy, and the
 * watchlists' findings (server/monitoring/). Producers insert kind/orderId/message/data; the state
 * (open → acknowledged → resolved) and its history (alert_history) belong to server/monitoring/alerts.ts.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    kind: text('kind').notNull(),
    orderId: uuid('order_id').references(() => orders.id),
    message: text('message').notNull(),
    data: jsonb('data').notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    state: text('state').notNull().default('open'),
    /** A watchlist finding's identity (e.g. `dead_letters:payment.query-attempt.dead`): one unresolved alert per key. */
    ruleKey: text('rule_key'),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    acknowledgedBy: text('acknowledged_by'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('alerts_state_valid', sql`${t.state} in ('open', 'acknowledged', 'resolved')`),
    uniqueIndex('alerts_open_rule_idx').on(t.ruleKey).where(sql`${t.ruleKey} is not null and ${t.state} <> 'resolved'`),
    index('alerts_unresolved_idx').on(t.id).where(sql`${t.state} <> 'resolved'`),
  ],
);

/** Fixed-window counters for rate limits that must hold across web instances. */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
  count: integer('count').notNull(),
});

// ---------------------------------------------------------------------------------------------------
// Merchant console: sign-in (better-auth), roles, throttling, step-up, the audit log.
// The five auth_* tables mirror better-auth 1.7.25's core + twoFactor schema field by field: its drizzle
// adapter silently drops fields it does not find (an empty UPDATE SET and a 500), so a test compares them
// (tests/integration/admin-auth-schema.test.ts). Regenerate on every better-auth upgrade.

/** The console roles (server/auth/permissions.ts gives each its permissions). */
export const adminRole = pgEnum('admin_role', ['owner', 'admin', 'finance', 'support', 'developer', 'viewer', 'auditor']);

export const authUsers = pgTable('auth_users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  email: text('email').notNull().unique(),
  emailVerified: boolean('email_verified').notNull().default(false),
  image: text('image'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  twoFactorEnabled: boolean('two_factor_enabled').default(false),
  // Ours (better-auth additionalFields with input: false: only our code sets them).
  role: adminRole('role').notNull().default('viewer'),
  /** Deactivated users cannot sign in; their sessions are deleted when they are deactivated. */
  active: boolean('active').notNull().default(true),
});

export const authSessions = pgTable(
  'auth_sessions',
  {
    id: text('id').primaryKey(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    token: text('token').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    userId: text('user_id')
      .notNull()
      .references(() => authUsers.id, { onDelete: 'cascade' }),
  },
  (t) => [index('auth_sessions_user_idx').on(t.userId)],
);

export const authAccounts = pgTable(
  'auth_accounts',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    providerId: text('provider_id').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => authUsers.id, { onDelete: 'cascade' }),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    idToken: text('id_token'),
    accessTokenExpiresAt: timestamp('access_token_expires_at', { withTimezone: true }),
    refreshTokenExpiresAt: timestamp('refresh_token_expires_at', { withTimezone: true }),
    scope: text('scope'),
    password: text('password'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('auth_accounts_user_idx').on(t.userId)],
);

export const authVerifications = pgTable(
  'auth_verifications',
  {
    id: text('id').primaryKey(),
    identifier: text('identifier').notNull(),
    value: text('value').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('auth_verifications_identifier_idx').on(t.identifier)],
);

export const authTwoFactors = pgTable(
  'auth_two_factors',
  {
    id: text('id').primaryKey(),
    secret: text('secret').notNull(),
    backupCodes: text('backup_codes').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => authUsers.id, { onDelete: 'cascade' }),
    verified: boolean('verified').default(true),
    failedVerificationCount: integer('failed_verification_count').default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
  },
  (t) => [index('auth_two_factors_secret_idx').on(t.secret), index('auth_two_factors_user_idx').on(t.userId)],
);

/**
 * Sign-in throttling that holds across web processes: one row per account (`email:…`) and per client IP
 * (`ip:…`), counting failures in a window; `lockedUntil` refuses sign-in until it passes.
 */
export const authThrottle = pgTable('auth_throttle', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull().default(0),
  windowStart: timestamp('window_start', { withTimezone: true }).notNull().defaultNow(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
});

/** Step-up re-authentication: when a session last proved its password or TOTP (sensitive actions need < 5 min). */
export const authStepUps = pgTable('auth_step_ups', {
  sessionId: text('session_id')
    .primaryKey()
    .references(() => authSessions.id, { onDelete: 'cascade' }),
  method: text('method').notNull(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
});

/** The one-time token that lets the first owner be created from the browser (printed at start-up). */
export const adminSetupTokens = pgTable('admin_setup_tokens', {
  id: integer('id').primaryKey(),
  /** SHA-256 of the token: the token itself is only in the server log (and DATA_DIR/admin-setup-token). */
  tokenHash: text('token_hash').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  usedAt: timestamp('used_at', { withTimezone: true }),
});

/** Money limits per role for refunds (single refund and Beijing-day total, in fen); null = no limit. */
export const roleLimits = pgTable('role_limits', {
  role: adminRole('role').primaryKey(),
  singleRefundMaxFen: integer('single_refund_max_fen'),
  dailyRefundMaxFen: integer('daily_refund_max_fen'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * The audit log: append-only (a trigger refuses UPDATE and DELETE, migration audit_append_only) and
 * hash-chained: `hash` = SHA-256 over the previous entry's hash and this entry's canonical content, so
 * an edit or a removed row breaks every later hash (server/auth/audit.ts verifies the chain).
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actorId: text('actor_id'),
    actorEmail: text('actor_email'),
    actorRole: text('actor_role'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    action: text('action').notNull(),
    objectType: text('object_type'),
    objectId: text('object_id'),
    before: jsonb('before'),
    after: jsonb('after'),
    reason: text('reason'),
    /** Whether the actor had stepped up (password or TOTP) within the last 5 minutes. */
    twoFactorFresh: boolean('two_factor_fresh').notNull().default(false),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    index('audit_log_object_idx').on(t.objectType, t.objectId),
    index('audit_log_actor_idx').on(t.actorId, t.id),
    index('audit_log_action_idx').on(t.action, t.id),
  ],
);

/**
 * CSV exports of a filtered list, produced by a job (queue console.export) into DATA_DIR/exports/; the
 * console polls `rowsDone` for its progress bar; the download link works until `expiresAt`.
 */
export const consoleExports = pgTable(
  'console_exports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    /** The list's filter as the console sent it (dates as ISO strings). */
    filter: jsonb('filter').notNull(),
    status: text('status').notNull().default('queued'),
    rowsDone: integer('rows_done').notNull().default(0),
    rowsTotal: integer('rows_total'),
    error: text('error'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
  },
  (t) => [index('console_exports_creator_idx').on(t.createdBy, t.createdAt)],
);

/** Saved views of the orders list, shared with the whole team: a name and the list's URL query. */
export const consoleSavedViews = pgTable('console_saved_views', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  /** The orders list's query string (filters as nuqs writes them), without the page cursor. */
  query: text('query').notNull(),
  createdBy: text('created_by').notNull(),
  createdByEmail: text('created_by_email').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
