// The simulator's state, in its own schema so it can never touch (or be touched by) the app's tables.
// All times come from the caller's clock (`now`) rather than Postgres's now(), so one process decides what
// "expired" and "due" mean and tests can reason about a single clock.
import postgres from 'postgres';

export type Db = postgres.Sql | postgres.TransactionSql;

export type TradeState = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'REFUND';

export interface OrderRow {
  mchid: string;
  out_trade_no: string;
  appid: string;
  description: string;
  amount_total: number;
  currency: string;
  notify_url: string;
  attach: string | null;
  device_id: string | null;
  /** The canonical request parameters; a re-order must match them exactly. */
  params: Record<string, unknown>;
  /** Effective expiry after WeChat's clamping. */
  time_expire: Date;
  code_url: string;
  code_url_issued_at: Date;
  trade_state: TradeState;
  transaction_id: string | null;
  payer_openid: string | null;
  success_time: Date | null;
  closed_at: Date | null;
  close_reason: 'merchant' | 'expired' | null;
  created_at: Date;
  updated_at: Date;
  /** WeChat's fee for this payment in whole fen, fixed when paid (rate × settlement amount, rounded half up). */
  fee_fen: number | null;
  /** Non-recharge coupon (免充值代金券) part of the payment: 应结订单金额 = amount_total − coupon_fen. */
  coupon_fen: number;
  /** Discrepancy injection "a payment we never heard of": queries show the order unpaid until then. */
  hidden_until: Date | null;
  /** A close the merchant sent while the payment was hidden (answered 204 as if the order were unpaid). */
  apparent_closed_at: Date | null;
  /** Created through the control API as a trade the merchant's system never made. */
  external: boolean;
}

export type NotificationStatus = 'pending' | 'delivered' | 'failed';

export interface NotificationRow {
  id: string;
  mchid: string;
  out_trade_no: string;
  /** Set for REFUND.* notifications. */
  out_refund_no: string | null;
  event_type: string;
  notify_url: string;
  body: string;
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
  /** The previous attempt carried a SIGNTEST probe: WeChat resends such a notification correctly signed. */
  last_probe: boolean;
  /** Fault-injected delay already folded into next_attempt_at (reported with the attempt). */
  pending_delay_ms: number;
}

/** One delivery attempt as GET /_sim/notifications reports it. */
export interface NotificationAttemptRow {
  seq: string;
  notification_id: string;
  mchid: string;
  out_trade_no: string;
  out_refund_no: string | null;
  event_type: string;
  /** 1-based attempt number; a duplicate copy carries the number of the attempt it duplicates. */
  number: number;
  at: Date;
  http_status: number | null;
  latency_ms: number | null;
  error: string | null;
  dropped: boolean;
  probe: boolean;
  duplicate: boolean;
  delayed_ms: number;
  serial: string | null;
}

export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export interface RefundRow {
  mchid: string;
  out_refund_no: string;
  refund_id: string;
  out_trade_no: string;
  transaction_id: string;
  /** The canonical request; a retry with the same out_refund_no must repeat it exactly. */
  params: Record<string, unknown>;
  reason: string | null;
  notify_url: string;
  funds_account: string;
  amount_refund: number;
  amount_total: number;
  currency: string;
  status: RefundStatus;
  channel: string;
  user_received_account: string;
  /** When a PROCESSING refund reaches planned_status on its own (scaled by timeScale). */
  settle_at: Date;
  /** What the refund turns into at settle_at; PROCESSING = it stays PROCESSING until the control API says otherwise. */
  planned_status: RefundStatus;
  success_time: Date | null;
  created_at: Date;
  updated_at: Date;
  /** The fee WeChat gives back for this refund, whole fen (rate × refund, rounded half up). */
  fee_refund_fen: number;
  /** How many accepted create calls named this out_refund_no (1 + idempotent repeats). */
  create_requests: number;
  /** The accepted apply-abnormal-refund request (decrypted fields masked), if any. */
  abnormal_apply: Record<string, unknown> | null;
  /** Made outside the API (the merchant platform), via the control API. */
  external: boolean;
}

export interface BillDownloadRow {
  token: string;
  mchid: string;
  kind: 'tradebill' | 'fundflowbill';
  bill_date: string;
  gzip: boolean;
  content: Buffer;
  expires_at: Date;
  created_at: Date;
}

/** Any stable 64-bit number; it only has to differ from the app's own advisory-lock keys. */
const MIGRATION_LOCK_KEY = 738_205_114_993;

const DDL = `
create schema if not exists wechatpay_sim;

create table if not exists wechatpay_sim.orders (
  mchid text not null,
  out_trade_no text not null,
  appid text not null,
  description text not null,
  amount_total integer not null check (amount_total > 0),
  currency text not null,
  notify_url text not null,
  attach text,
  device_id text,
  params jsonb not null,
  time_expire timestamptz not null,
  code_url text not null unique,
  code_url_issued_at timestamptz not null,
  trade_state text not null check (trade_state in ('NOTPAY', 'SUCCESS', 'CLOSED', 'REFUND')),
  transaction_id text unique,
  payer_openid text,
  success_time timestamptz,
  closed_at timestamptz,
  close_reason text check (close_reason in ('merchant', 'expired')),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (mchid, out_trade_no)
);

create table if not exists wechatpay_sim.notifications (
  id text primary key,
  mchid text not null,
  out_trade_no text not null,
  event_type text not null,
  notify_url text not null,
  body text not null,
  status text not null check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz,
  last_attempt_at timestamptz,
  last_status integer,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz not null
);

alter table wechatpay_sim.notifications add column if not exists out_refund_no text;
alter table wechatpay_sim.notifications add column if not exists last_probe boolean not null default false;
alter table wechatpay_sim.notifications add column if not exists pending_delay_ms integer not null default 0;

create table if not exists wechatpay_sim.notification_attempts (
  seq bigserial primary key,
  notification_id text not null,
  mchid text not null,
  out_trade_no text not null,
  out_refund_no text,
  event_type text not null,
  number integer not null,
  at timestamptz not null,
  http_status integer,
  latency_ms integer,
  error text,
  dropped boolean not null default false,
  probe boolean not null default false,
  duplicate boolean not null default false,
  delayed_ms integer not null default 0,
  serial text
);
create index if not exists notification_attempts_order_idx
  on wechatpay_sim.notification_attempts (mchid, out_trade_no, seq);

create table if not exists wechatpay_sim.faults (
  mchid text primary key,
  faults jsonb not null,
  updated_at timestamptz not null
);

create table if not exists wechatpay_sim.refunds (
  mchid text not null,
  out_refund_no text not null,
  refund_id text not null unique,
  out_trade_no text not null,
  transaction_id text not null,
  params jsonb not null,
  reason text,
  notify_url text not null,
  funds_account text not null,
  amount_refund integer not null check (amount_refund > 0),
  amount_total integer not null check (amount_total > 0),
  currency text not null,
  status text not null check (status in ('PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL')),
  channel text not null,
  user_received_account text not null,
  settle_at timestamptz not null,
  success_time timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (mchid, out_refund_no)
);
create index if not exists refunds_order_idx on wechatpay_sim.refunds (mchid, out_trade_no);
create index if not exists refunds_processing_idx on wechatpay_sim.refunds (mchid, settle_at) where status = 'PROCESSING';

create table if not exists wechatpay_sim.bill_downloads (
  token text primary key,
  mchid text not null,
  kind text not null check (kind in ('tradebill', 'fundflowbill')),
  bill_date text not null,
  gzip boolean not null,
  content bytea not null,
  expires_at timestamptz not null,
  created_at timestamptz not null
);

-- An earlier version indexed next_attempt_at alone; the claim query filters by merchant first.
drop index if exists wechatpay_sim.notifications_due_idx;
create index if not exists notifications_pending_idx
  on wechatpay_sim.notifications (mchid, next_attempt_at) where status = 'pending';
create index if not exists notifications_order_idx
  on wechatpay_sim.notifications (mchid, out_trade_no);

alter table wechatpay_sim.orders add column if not exists fee_fen integer;
alter table wechatpay_sim.orders add column if not exists coupon_fen integer not null default 0;
alter table wechatpay_sim.orders add column if not exists hidden_until timestamptz;
alter table wechatpay_sim.orders add column if not exists apparent_closed_at timestamptz;
alter table wechatpay_sim.orders add column if not exists external boolean not null default false;
alter table wechatpay_sim.refunds add column if not exists planned_status text not null default 'SUCCESS';
alter table wechatpay_sim.refunds add column if not exists fee_refund_fen integer not null default 0;
alter table wechatpay_sim.refunds add column if not exists create_requests integer not null default 1;
alter table wechatpay_sim.refunds add column if not exists abnormal_apply jsonb;
alter table wechatpay_sim.refunds add column if not exists external boolean not null default false;
create index if not exists refunds_created_idx on wechatpay_sim.refunds (mchid, created_at);

-- The simulated clock: business time = wall time + offset_ms (POST /_sim/clock).
create table if not exists wechatpay_sim.clock (
  mchid text primary key,
  offset_ms bigint not null,
  updated_at timestamptz not null
);

-- Scripted refund outcomes (PUT /_sim/refund-plans/...): per out_refund_no, or target '*' for every next refund.
create table if not exists wechatpay_sim.refund_plans (
  mchid text not null,
  target text not null,
  status text not null check (status in ('PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL')),
  after_ms bigint,
  updated_at timestamptz not null,
  primary key (mchid, target)
);

-- Bill discrepancies injected per row (POST /_sim/bills/anomalies): what the trade bill shows instead of the truth.
create table if not exists wechatpay_sim.bill_overrides (
  mchid text not null,
  out_trade_no text not null,
  kind text not null check (kind in ('amount', 'missing')),
  value jsonb not null,
  created_at timestamptz not null,
  primary key (mchid, out_trade_no, kind)
);
`;

export function createPool(databaseUrl: string): postgres.Sql {
  // Small on purpose: the simulator shares Postgres with the app and its queue.
  return postgres(databaseUrl, { max: 5, idle_timeout: 30, onnotice: () => {}, connection: { application_name: 'scanpay-sim' } });
}

/** Idempotent; the advisory lock keeps two simultaneous starts from racing on CREATE ... IF NOT EXISTS. */
export async function migrate(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx.unsafe(DDL);
  });
}

// ---- orders ----

export type NewOrder = Omit<
  OrderRow,
  | 'transaction_id'
  | 'payer_openid'
  | 'success_time'
  | 'closed_at'
  | 'close_reason'
  | 'updated_at'
  | 'fee_fen'
  | 'coupon_fen'
  | 'hidden_until'
  | 'apparent_closed_at'
  | 'external'
> & { external?: boolean };

/** Inserts unless (mchid, out_trade_no) exists; returns the new row or null. */
export async function insertOrder(db: Db, o: NewOrder): Promise<OrderRow | null> {
  const rows = await db<OrderRow[]>`
    insert into wechatpay_sim.orders (
      mchid, out_trade_no, appid, description, amount_total, currency, notify_url, attach, device_id, params,
      time_expire, code_url, code_url_issued_at, trade_state, created_at, updated_at, external
    ) values (
      ${o.mchid}, ${o.out_trade_no}, ${o.appid}, ${o.description}, ${o.amount_total}, ${o.currency}, ${o.notify_url},
      ${o.attach}, ${o.device_id}, ${db.json(o.params as postgres.JSONValue)}, ${o.time_expire}, ${o.code_url},
      ${o.code_url_issued_at}, ${o.trade_state}, ${o.created_at}, ${o.created_at}, ${o.external ?? false}
    )
    on conflict (mchid, out_trade_no) do nothing
    returning *`;
  return rows[0] ?? null;
}

export async function findOrder(db: Db, mchid: string, outTradeNo: string, forUpdate = false): Promise<OrderRow | null> {
  const rows = forUpdate
    ? await db<OrderRow[]>`select * from wechatpay_sim.orders where mchid = ${mchid} and out_trade_no = ${outTradeNo} for update`
    : await db<OrderRow[]>`select * from wechatpay_sim.orders where mchid = ${mchid} and out_trade_no = ${outTradeNo}`;
  return rows[0] ?? null;
}

export async function findOrderByTransactionId(db: Db, mchid: string, transactionId: string): Promise<OrderRow | null> {
  const rows = await db<OrderRow[]>`
    select * from wechatpay_sim.orders where mchid = ${mchid} and transaction_id = ${transactionId}`;
  return rows[0] ?? null;
}

/** Scoped to one merchant: simulators with different credentials may share the schema (tests do). */
export async function findOrderByCodeUrl(db: Db, mchid: string, codeUrl: string, forUpdate = false): Promise<OrderRow | null> {
  const rows = forUpdate
    ? await db<OrderRow[]>`select * from wechatpay_sim.orders where mchid = ${mchid} and code_url = ${codeUrl} for update`
    : await db<OrderRow[]>`select * from wechatpay_sim.orders where mchid = ${mchid} and code_url = ${codeUrl}`;
  return rows[0] ?? null;
}

export async function replaceCodeUrl(db: Db, o: OrderRow, codeUrl: string, now: Date): Promise<OrderRow> {
  const rows = await db<OrderRow[]>`
    update wechatpay_sim.orders set code_url = ${codeUrl}, code_url_issued_at = ${now}, updated_at = ${now}
    where mchid = ${o.mchid} and out_trade_no = ${o.out_trade_no}
    returning *`;
  if (!rows[0]) throw new Error(`order ${o.out_trade_no} vanished while replacing its code_url`);
  return rows[0];
}

/** NOTPAY → CLOSED; a no-op (null) for any other state. */
export async function closeOrder(db: Db, o: OrderRow, closedAt: Date, reason: 'merchant' | 'expired', now: Date): Promise<OrderRow | null> {
  const rows = await db<OrderRow[]>`
    update wechatpay_sim.orders
    set trade_state = 'CLOSED', closed_at = ${closedAt}, close_reason = ${reason}, updated_at = ${now}
    where mchid = ${o.mchid} and out_trade_no = ${o.out_trade_no} and trade_state = 'NOTPAY'
    returning *`;
  return rows[0] ?? null;
}

/** NOTPAY (or, for late-payment tests, CLOSED) → SUCCESS. */
export async function markPaid(
  db: Db,
  o: OrderRow,
  paid: { transactionId: string; openid: string; successTime: Date; feeFen: number; couponFen?: number; hiddenUntil?: Date | null },
  allowedFrom: TradeState[],
): Promise<OrderRow | null> {
  const rows = await db<OrderRow[]>`
    update wechatpay_sim.orders
    set trade_state = 'SUCCESS', transaction_id = ${paid.transactionId}, payer_openid = ${paid.openid},
        success_time = ${paid.successTime}, updated_at = ${paid.successTime}, fee_fen = ${paid.feeFen},
        coupon_fen = ${paid.couponFen ?? 0}, hidden_until = ${paid.hiddenUntil ?? null}
    where mchid = ${o.mchid} and out_trade_no = ${o.out_trade_no} and trade_state in ${db(allowedFrom)}
    returning *`;
  return rows[0] ?? null;
}

// ---- notifications ----

export async function insertNotification(
  db: Db,
  n: Pick<NotificationRow, 'id' | 'mchid' | 'out_trade_no' | 'event_type' | 'notify_url' | 'body'> & { out_refund_no?: string | null },
  now: Date,
  /** Fault-injected delay before the first attempt. */
  delayMs = 0,
): Promise<void> {
  const due = new Date(now.getTime() + delayMs);
  await db`
    insert into wechatpay_sim.notifications
      (id, mchid, out_trade_no, out_refund_no, event_type, notify_url, body, status, next_attempt_at, pending_delay_ms, created_at)
    values (${n.id}, ${n.mchid}, ${n.out_trade_no}, ${n.out_refund_no ?? null}, ${n.event_type}, ${n.notify_url}, ${n.body}, 'pending',
            ${due}, ${delayMs}, ${now})`;
}

/**
 * Claims up to `limit` due deliveries by pushing their next_attempt_at out by `leaseMs`: another simulator
 * process (SKIP LOCKED) or a restart after a crash mid-attempt only picks them up again once the lease runs out.
 * Only the merchant's own rows: another simulator sharing the schema signs and encrypts with other keys.
 */
export async function claimDueNotifications(db: Db, mchid: string, now: Date, leaseMs: number, limit: number): Promise<NotificationRow[]> {
  const leaseUntil = new Date(now.getTime() + leaseMs);
  return db<NotificationRow[]>`
    update wechatpay_sim.notifications n set next_attempt_at = ${leaseUntil}
    where n.id in (
      select id from wechatpay_sim.notifications
      where mchid = ${mchid} and status = 'pending' and next_attempt_at <= ${now}
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    returning n.*`;
}

export interface AttemptOutcome {
  at: Date;
  httpStatus: number | null;
  error: string | null;
  status: NotificationStatus;
  nextAttemptAt: Date | null;
  /** Delay folded into nextAttemptAt by the notifyDelayMs fault. */
  nextDelayMs: number;
  probe: boolean;
}

export type AttemptLog = Omit<NotificationAttemptRow, 'seq' | 'mchid' | 'out_trade_no' | 'out_refund_no' | 'event_type' | 'notification_id'>;

/** Counts one attempt and logs it, atomically (the log is what GET /_sim/notifications shows). */
export async function recordAttempt(sql: postgres.Sql, row: NotificationRow, outcome: AttemptOutcome, log: AttemptLog): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      update wechatpay_sim.notifications
      set attempts = attempts + 1, last_attempt_at = ${outcome.at}, last_status = ${outcome.httpStatus}, last_error = ${outcome.error},
          status = ${outcome.status}, next_attempt_at = ${outcome.nextAttemptAt}, last_probe = ${outcome.probe},
          pending_delay_ms = ${outcome.nextDelayMs},
          delivered_at = ${outcome.status === 'delivered' ? outcome.at : null}
      where id = ${row.id}`;
    await insertAttemptLog(tx, row, log);
  });
}

export async function insertAttemptLog(db: Db, row: NotificationRow, log: AttemptLog): Promise<void> {
  await db`
    insert into wechatpay_sim.notification_attempts
      (notification_id, mchid, out_trade_no, out_refund_no, event_type, number, at, http_status, latency_ms, error, dropped, probe,
       duplicate, delayed_ms, serial)
    values (${row.id}, ${row.mchid}, ${row.out_trade_no}, ${row.out_refund_no}, ${row.event_type}, ${log.number}, ${log.at},
            ${log.http_status}, ${log.latency_ms}, ${log.error}, ${log.dropped}, ${log.probe}, ${log.duplicate}, ${log.delayed_ms},
            ${log.serial})`;
}

/** Gives a claimed delivery back without counting an attempt (used when shutting down mid-request). */
export async function releaseClaim(db: Db, id: string, at: Date): Promise<void> {
  await db`update wechatpay_sim.notifications set next_attempt_at = ${at} where id = ${id} and status = 'pending'`;
}

export async function listNotifications(db: Db, mchid: string, outTradeNo: string | null, limit = 10_000): Promise<NotificationRow[]> {
  return outTradeNo === null
    ? db<NotificationRow[]>`
        select * from wechatpay_sim.notifications where mchid = ${mchid} order by created_at, id limit ${limit}`
    : db<NotificationRow[]>`
        select * from wechatpay_sim.notifications where mchid = ${mchid} and out_trade_no = ${outTradeNo} order by created_at, id`;
}

export async function listAttempts(db: Db, mchid: string, outTradeNo: string | null, limit = 10_000): Promise<NotificationAttemptRow[]> {
  return outTradeNo === null
    ? db<NotificationAttemptRow[]>`
        select * from wechatpay_sim.notification_attempts where mchid = ${mchid} order by seq limit ${limit}`
    : db<NotificationAttemptRow[]>`
        select * from wechatpay_sim.notification_attempts where mchid = ${mchid} and out_trade_no = ${outTradeNo} order by seq`;
}

// ---- refunds ----

export type NewRefund = Omit<RefundRow, 'success_time' | 'updated_at' | 'create_requests' | 'abnormal_apply' | 'external'> & { external?: boolean };

/** Inserts unless (mchid, out_refund_no) exists; returns the new row or null. */
export async function insertRefund(db: Db, r: NewRefund): Promise<RefundRow | null> {
  const rows = await db<RefundRow[]>`
    insert into wechatpay_sim.refunds (
      mchid, out_refund_no, refund_id, out_trade_no, transaction_id, params, reason, notify_url, funds_account, amount_refund,
      amount_total, currency, status, channel, user_received_account, settle_at, planned_status, fee_refund_fen, external,
      created_at, updated_at
    ) values (
      ${r.mchid}, ${r.out_refund_no}, ${r.refund_id}, ${r.out_trade_no}, ${r.transaction_id}, ${db.json(r.params as postgres.JSONValue)},
      ${r.reason}, ${r.notify_url}, ${r.funds_account}, ${r.amount_refund}, ${r.amount_total}, ${r.currency}, ${r.status}, ${r.channel},
      ${r.user_received_account}, ${r.settle_at}, ${r.planned_status}, ${r.fee_refund_fen}, ${r.external ?? false},
      ${r.created_at}, ${r.created_at}
    )
    on conflict (mchid, out_refund_no) do nothing
    returning *`;
  return rows[0] ?? null;
}

export async function findRefund(db: Db, mchid: string, outRefundNo: string, forUpdate = false): Promise<RefundRow | null> {
  const rows = forUpdate
    ? await db<RefundRow[]>`select * from wechatpay_sim.refunds where mchid = ${mchid} and out_refund_no = ${outRefundNo} for update`
    : await db<RefundRow[]>`select * from wechatpay_sim.refunds where mchid = ${mchid} and out_refund_no = ${outRefundNo}`;
  return rows[0] ?? null;
}

export async function refundsOfOrder(db: Db, mchid: string, outTradeNo: string): Promise<RefundRow[]> {
  return db<RefundRow[]>`
    select * from wechatpay_sim.refunds where mchid = ${mchid} and out_trade_no = ${outTradeNo} order by created_at, out_refund_no`;
}

/** PROCESSING → a final status; null when the refund is no longer PROCESSING (someone else settled it). */
export async function finishRefund(db: Db, r: RefundRow, status: Exclude<RefundStatus, 'PROCESSING'>, now: Date): Promise<RefundRow | null> {
  const rows = await db<RefundRow[]>`
    update wechatpay_sim.refunds
    set status = ${status}, success_time = ${status === 'SUCCESS' ? now : null}, updated_at = ${now}
    where mchid = ${r.mchid} and out_refund_no = ${r.out_refund_no} and status = 'PROCESSING'
    returning *`;
  return rows[0] ?? null;
}

/** PROCESSING refunds whose settle time has come, locked for settling (another process skips them). */
export async function claimDueRefunds(db: Db, mchid: string, now: Date, limit: number): Promise<RefundRow[]> {
  return db<RefundRow[]>`
    select * from wechatpay_sim.refunds
    where mchid = ${mchid} and status = 'PROCESSING' and planned_status <> 'PROCESSING' and settle_at <= ${now}
    order by settle_at
    limit ${limit}
    for update skip locked`;
}

/** SUCCESS → REFUND once any refund exists (reference §4.1: "转入退款"). */
export async function markRefunded(db: Db, o: OrderRow, now: Date): Promise<void> {
  await db`
    update wechatpay_sim.orders set trade_state = 'REFUND', updated_at = ${now}
    where mchid = ${o.mchid} and out_trade_no = ${o.out_trade_no} and trade_state = 'SUCCESS'`;
}

// ---- bills ----

/** Paid orders whose success_time falls in [from, to). */
export async function paidOrdersBetween(db: Db, mchid: string, from: Date, to: Date): Promise<OrderRow[]> {
  return db<OrderRow[]>`
    select * from wechatpay_sim.orders
    where mchid = ${mchid} and success_time >= ${from} and success_time < ${to} and trade_state in ('SUCCESS', 'REFUND')
    order by success_time, out_trade_no`;
}

/** The order fields a refund row of a bill repeats. */
export interface RefundWithOrder extends RefundRow {
  order_appid: string;
  order_description: string;
  order_attach: string | null;
  order_payer_openid: string | null;
  order_device_id: string | null;
  order_success_time: Date;
}

/** Refunds applied for in [from, to) (a refund row's 交易时间 is its application time, reference §8.4). */
export async function refundsBetween(db: Db, mchid: string, from: Date, to: Date): Promise<RefundWithOrder[]> {
  return db<RefundWithOrder[]>`
    select r.*, o.appid as order_appid, o.description as order_description, o.attach as order_attach,
           o.payer_openid as order_payer_openid, o.device_id as order_device_id,
           o.success_time as order_success_time
    from wechatpay_sim.refunds r
    join wechatpay_sim.orders o on o.mchid = r.mchid and o.out_trade_no = r.out_trade_no
    where r.mchid = ${mchid} and r.created_at >= ${from} and r.created_at < ${to}
    order by r.created_at, r.out_refund_no`;
}

export async function insertBillDownload(db: Db, d: BillDownloadRow): Promise<void> {
  await db`
    insert into wechatpay_sim.bill_downloads (token, mchid, kind, bill_date, gzip, content, expires_at, created_at)
    values (${d.token}, ${d.mchid}, ${d.kind}, ${d.bill_date}, ${d.gzip}, ${d.content}, ${d.expires_at}, ${d.created_at})`;
}

export async function findBillDownload(db: Db, mchid: string, token: string): Promise<BillDownloadRow | null> {
  const rows = await db<BillDownloadRow[]>`select * from wechatpay_sim.bill_downloads where mchid = ${mchid} and token = ${token}`;
  return rows[0] ?? null;
}

/** Shifts every time of one order (and its refunds) `ms` into the past: bills for past days need past activity. */
export async function backdateOrder(sql: postgres.Sql, mchid: string, outTradeNo: string, ms: number): Promise<boolean> {
  const interval = `${Math.round(ms)} milliseconds`;
  return sql.begin(async (tx) => {
    const rows = await tx`
      update wechatpay_sim.orders set
        time_expire = time_expire - ${interval}::interval,
        code_url_issued_at = code_url_issued_at - ${interval}::interval,
        success_time = success_time - ${interval}::interval,
        closed_at = closed_at - ${interval}::interval,
        created_at = created_at - ${interval}::interval,
        updated_at = updated_at - ${interval}::interval
      where mchid = ${mchid} and out_trade_no = ${outTradeNo}
      returning out_trade_no`;
    if (rows.length === 0) return false;
    await tx`
      update wechatpay_sim.refunds set
        settle_at = settle_at - ${interval}::interval,
        success_time = success_time - ${interval}::interval,
        created_at = created_at - ${interval}::interval,
        updated_at = updated_at - ${interval}::interval
      where mchid = ${mchid} and out_trade_no = ${outTradeNo}`;
    return true;
  });
}

// ---- refunds: listing, repeats, plans, abnormal handling ----

/** Every refund of the merchant (or of one order), oldest first: what the control API lists. */
export async function listRefunds(db: Db, mchid: string, outTradeNo: string | null, limit = 10_000): Promise<RefundRow[]> {
  return outTradeNo === null
    ? db<RefundRow[]>`select * from wechatpay_sim.refunds where mchid = ${mchid} order by created_at, out_refund_no limit ${limit}`
    : db<RefundRow[]>`
        select * from wechatpay_sim.refunds where mchid = ${mchid} and out_trade_no = ${outTradeNo} order by created_at, out_refund_no limit ${limit}`;
}

/** One more accepted create call for an existing out_refund_no (an idempotent repeat). */
export async function countRefundRequest(db: Db, r: RefundRow): Promise<RefundRow> {
  const rows = await db<RefundRow[]>`
    update wechatpay_sim.refunds set create_requests = create_requests + 1
    where mchid = ${r.mchid} and out_refund_no = ${r.out_refund_no} returning *`;
  return rows[0] ?? r;
}

export async function findRefundById(db: Db, mchid: string, refundId: string, forUpdate = false): Promise<RefundRow | null> {
  const rows = forUpdate
    ? await db<RefundRow[]>`select * from wechatpay_sim.refunds where mchid = ${mchid} and refund_id = ${refundId} for update`
    : await db<RefundRow[]>`select * from wechatpay_sim.refunds where mchid = ${mchid} and refund_id = ${refundId}`;
  return rows[0] ?? null;
}

/** ABNORMAL → PROCESSING towards SUCCESS on the account the merchant named (apply-abnormal-refund). */
export async function reopenAbnormalRefund(
  db: Db,
  r: RefundRow,
  to: { channel: string; account: string; settleAt: Date; apply: Record<string, unknown> },
  now: Date,
): Promise<RefundRow | null> {
  const rows = await db<RefundRow[]>`
    update wechatpay_sim.refunds
    set status = 'PROCESSING', planned_status = 'SUCCESS', channel = ${to.channel}, user_received_account = ${to.account},
        settle_at = ${to.settleAt}, abnormal_apply = ${db.json(to.apply as postgres.JSONValue)}, updated_at = ${now}
    where mchid = ${r.mchid} and out_refund_no = ${r.out_refund_no} and status = 'ABNORMAL'
    returning *`;
  return rows[0] ?? null;
}

export interface RefundPlanRow {
  mchid: string;
  /** An out_refund_no, or '*' for every refund without a plan of its own. */
  target: string;
  status: RefundStatus;
  /** Time in PROCESSING before `status` (simulated ms); null = the simulator's default processing time. */
  after_ms: number | null;
  updated_at: Date;
}

export async function putRefundPlan(db: Db, p: Omit<RefundPlanRow, 'updated_at'>, now: Date): Promise<RefundPlanRow> {
  const rows = await db<RefundPlanRow[]>`
    insert into wechatpay_sim.refund_plans (mchid, target, status, after_ms, updated_at)
    values (${p.mchid}, ${p.target}, ${p.status}, ${p.after_ms}, ${now})
    on conflict (mchid, target) do update set status = excluded.status, after_ms = excluded.after_ms, updated_at = excluded.updated_at
    returning *`;
  return normalisePlan(rows[0]!);
}

export async function deleteRefundPlan(db: Db, mchid: string, target: string | null): Promise<number> {
  const rows =
    target === null
      ? await db`delete from wechatpay_sim.refund_plans where mchid = ${mchid} returning target`
      : await db`delete from wechatpay_sim.refund_plans where mchid = ${mchid} and target = ${target} returning target`;
  return rows.length;
}

export async function listRefundPlans(db: Db, mchid: string): Promise<RefundPlanRow[]> {
  const rows = await db<RefundPlanRow[]>`select * from wechatpay_sim.refund_plans where mchid = ${mchid} order by target`;
  return rows.map(normalisePlan);
}

/** The plan for a new refund: its own, else the default ('*'), else none. */
export async function planFor(db: Db, mchid: string, outRefundNo: string): Promise<RefundPlanRow | null> {
  const rows = await db<RefundPlanRow[]>`
    select * from wechatpay_sim.refund_plans where mchid = ${mchid} and target in (${outRefundNo}, '*')
    order by (target = '*')`;
  return rows[0] ? normalisePlan(rows[0]) : null;
}

function normalisePlan(p: RefundPlanRow): RefundPlanRow {
  // bigint columns come back as strings.
  return { ...p, after_ms: p.after_ms === null ? null : Number(p.after_ms) };
}

// ---- the simulated clock ----

export async function readClockOffset(db: Db, mchid: string): Promise<number> {
  const rows = await db<{ offset_ms: string }[]>`select offset_ms from wechatpay_sim.clock where mchid = ${mchid}`;
  return rows[0] ? Number(rows[0].offset_ms) : 0;
}

export async function writeClockOffset(db: Db, mchid: string, offsetMs: number): Promise<void> {
  await db`
    insert into wechatpay_sim.clock (mchid, offset_ms, updated_at) values (${mchid}, ${Math.round(offsetMs)}, ${new Date()})
    on conflict (mchid) do update set offset_ms = excluded.offset_ms, updated_at = excluded.updated_at`;
}

// ---- bill anomalies ----

export interface BillOverrideRow {
  mchid: string;
  out_trade_no: string;
  kind: 'amount' | 'missing';
  value: Record<string, unknown>;
  created_at: Date;
}

export async function putBillOverride(db: Db, o: Omit<BillOverrideRow, 'created_at'>, now: Date): Promise<void> {
  await db`
    insert into wechatpay_sim.bill_overrides (mchid, out_trade_no, kind, value, created_at)
    values (${o.mchid}, ${o.out_trade_no}, ${o.kind}, ${db.json(o.value as postgres.JSONValue)}, ${now})
    on conflict (mchid, out_trade_no, kind) do update set value = excluded.value, created_at = excluded.created_at`;
}

export async function billOverrides(db: Db, mchid: string, outTradeNos: string[]): Promise<BillOverrideRow[]> {
  if (outTradeNos.length === 0) return [];
  return db<BillOverrideRow[]>`select * from wechatpay_sim.bill_overrides where mchid = ${mchid} and out_trade_no in ${db(outTradeNos)}`;
}

export async function setOrderFee(db: Db, mchid: string, outTradeNo: string, feeFen: number): Promise<boolean> {
  const rows =
    await db`update wechatpay_sim.orders set fee_fen = ${feeFen} where mchid = ${mchid} and out_trade_no = ${outTradeNo} and fee_fen is not null returning out_trade_no`;
  return rows.length > 0;
}

/** Records a close sent while the payment is hidden (the merchant believes it closed an unpaid order). */
export async function markApparentlyClosed(db: Db, o: OrderRow, now: Date): Promise<void> {
  await db`
    update wechatpay_sim.orders set apparent_closed_at = coalesce(apparent_closed_at, ${now})
    where mchid = ${o.mchid} and out_trade_no = ${o.out_trade_no}`;
}

/** Refunds whose money moved (booked) in [from, to): the fund-flow bill's refund rows. */
export async function refundsBookedBetween(db: Db, mchid: string, from: Date, to: Date, lagMs: number): Promise<RefundRow[]> {
  const lag = `${Math.round(lagMs)} milliseconds`;
  return db<RefundRow[]>`
    select * from wechatpay_sim.refunds
    where mchid = ${mchid} and created_at + ${lag}::interval >= ${from} and created_at + ${lag}::interval < ${to}
    order by created_at, out_refund_no`;
}

/** Refunds that ended CLOSED in [from, to): the money comes back (退款关闭). */
export async function refundsClosedBetween(db: Db, mchid: string, from: Date, to: Date): Promise<RefundRow[]> {
  return db<RefundRow[]>`
    select * from wechatpay_sim.refunds
    where mchid = ${mchid} and status = 'CLOSED' and updated_at >= ${from} and updated_at < ${to}
    order by updated_at, out_refund_no`;
}

/**
 * The basic account's balance at `before` from the simulator's whole history: payments (settlement amount) less
 * fees, less booked refunds plus their fee refunds, plus refunds closed again. The fund-flow bill opens with it.
 */
export async function basicBalanceBefore(db: Db, mchid: string, before: Date, lagMs: number): Promise<number> {
  const lag = `${Math.round(lagMs)} milliseconds`;
  const [row] = await db<{ paid: string | null; refunded: string | null; reopened: string | null }[]>`
    select
      (select sum(amount_total - coupon_fen - coalesce(fee_fen, 0)) from wechatpay_sim.orders
        where mchid = ${mchid} and success_time < ${before} and trade_state in ('SUCCESS', 'REFUND')) as paid,
      (select sum(amount_refund - fee_refund_fen) from wechatpay_sim.refunds
        where mchid = ${mchid} and created_at + ${lag}::interval < ${before}) as refunded,
      (select sum(amount_refund - fee_refund_fen) from wechatpay_sim.refunds
        where mchid = ${mchid} and status = 'CLOSED' and updated_at < ${before}) as reopened`;
  return Number(row?.paid ?? 0) - Number(row?.refunded ?? 0) + Number(row?.reopened ?? 0);
}
