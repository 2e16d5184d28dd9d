// The app's tables. Money is integer fen everywhere. Migrations are generated from this file by
// drizzle-kit (`npm run db:generate`) into db/migrations/ and committed.
import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

/** What the shopper and the merchant see. `review` = frozen for a human (mismatch, late payment). */
export const orderStatus = pgEnum('order_status', [
  'awaiting_payment',
  'paid',
  'closed',
  'refunded',
  'partially_refunded',
  'review',
]);

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
    ...timestamps,
  },
  (t) => [check('orders_amount_positive', sql`${t.amountFen} > 0`), index('orders_created_at_idx').on(t.createdAt)],
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
  (t) => [index('wechatpay_notifications_unprocessed_idx').on(t.receivedAt).where(sql`${t.processedAt} is null`)],
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

export const refundStatus = pgEnum('refund_status', ['requested', 'processing', 'succeeded', 'closed', 'abnormal']);

/** Refunds we asked WeChat for: late/double payments (automatic) and, later, merchant refunds. */
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
    /** Deterministic (derived from the cause) so a retried request can never refund twice. */
    outRefundNo: text('out_refund_no').notNull().unique(),
    amountFen: integer('amount_fen').notNull(),
    reason: text('reason').notNull(),
    kind: text('kind').notNull(),
    status: refundStatus('status').notNull().default('requested'),
    refundId: text('refund_id'),
    lastError: text('last_error'),
    ...timestamps,
  },
  (t) => [index('refunds_order_idx').on(t.orderId), check('refunds_amount_positive', sql`${t.amountFen} > 0`)],
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
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    dedupeKey: text('dedupe_key').notNull().unique(),
    payload: jsonb('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    publishedAt: timestamp('published_at', { withTimezone: true }),
  },
  (t) => [index('outbox_events_unpublished_idx').on(t.id).where(sql`${t.publishedAt} is null`)],
);

/** Things a human must look at: mismatched notifications, late payments under the review policy... */
export const alerts = pgTable('alerts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  kind: text('kind').notNull(),
  orderId: uuid('order_id').references(() => orders.id),
  message: text('message').notNull(),
  data: jsonb('data').notNull().default({}),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  resolvedAt: timestamp('resolved_at', { withTimezone: true }),
});

/** Fixed-window counters for rate limits that must hold across web instances. */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
  count: integer('count').notNull(),
});
