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
}

export type NotificationStatus = 'pending' | 'delivered' | 'failed';

export interface NotificationRow {
  id: string;
  mchid: string;
  out_trade_no: string;
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

-- An earlier version indexed next_attempt_at alone; the claim query filters by merchant first.
drop index if exists wechatpay_sim.notifications_due_idx;
create index if not exists notifications_pending_idx
  on wechatpay_sim.notifications (mchid, next_attempt_at) where status = 'pending';
create index if not exists notifications_order_idx
  on wechatpay_sim.notifications (mchid, out_trade_no);
`;

export function createPool(databaseUrl: string): postgres.Sql {
  // Small on purpose: the simulator shares Postgres with the app and its queue.
  return postgres(databaseUrl, { max: 5, idle_timeout: 30, onnotice: () => {} });
}

/** Idempotent; the advisory lock keeps two simultaneous starts from racing on CREATE ... IF NOT EXISTS. */
export async function migrate(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx.unsafe(DDL);
  });
}

// ---- orders ----

export type NewOrder = Omit<OrderRow, 'transaction_id' | 'payer_openid' | 'success_time' | 'closed_at' | 'close_reason' | 'updated_at'>;

/** Inserts unless (mchid, out_trade_no) exists; returns the new row or null. */
export async function insertOrder(db: Db, o: NewOrder): Promise<OrderRow | null> {
  const rows = await db<OrderRow[]>`
    insert into wechatpay_sim.orders (
      mchid, out_trade_no, appid, description, amount_total, currency, notify_url, attach, device_id, params,
      time_expire, code_url, code_url_issued_at, trade_state, created_at, updated_at
    ) values (
      ${o.mchid}, ${o.out_trade_no}, ${o.appid}, ${o.description}, ${o.amount_total}, ${o.currency}, ${o.notify_url},
      ${o.attach}, ${o.device_id}, ${db.json(o.params as postgres.JSONValue)}, ${o.time_expire}, ${o.code_url},
      ${o.code_url_issued_at}, ${o.trade_state}, ${o.created_at}, ${o.created_at}
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
  paid: { transactionId: string; openid: string; successTime: Date },
  allowedFrom: TradeState[],
): Promise<OrderRow | null> {
  const rows = await db<OrderRow[]>`
    update wechatpay_sim.orders
    set trade_state = 'SUCCESS', transaction_id = ${paid.transactionId}, payer_openid = ${paid.openid},
        success_time = ${paid.successTime}, updated_at = ${paid.successTime}
    where mchid = ${o.mchid} and out_trade_no = ${o.out_trade_no} and trade_state in ${db(allowedFrom)}
    returning *`;
  return rows[0] ?? null;
}

// ---- notifications ----

export async function insertNotification(
  db: Db,
  n: Pick<NotificationRow, 'id' | 'mchid' | 'out_trade_no' | 'event_type' | 'notify_url' | 'body'>,
  now: Date,
): Promise<void> {
  await db`
    insert into wechatpay_sim.notifications (id, mchid, out_trade_no, event_type, notify_url, body, status, next_attempt_at, created_at)
    values (${n.id}, ${n.mchid}, ${n.out_trade_no}, ${n.event_type}, ${n.notify_url}, ${n.body}, 'pending', ${now}, ${now})`;
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

export async function recordAttempt(
  db: Db,
  id: string,
  outcome: { at: Date; httpStatus: number | null; error: string | null; status: NotificationStatus; nextAttemptAt: Date | null },
): Promise<void> {
  await db`
    update wechatpay_sim.notifications
    set attempts = attempts + 1, last_attempt_at = ${outcome.at}, last_status = ${outcome.httpStatus}, last_error = ${outcome.error},
        status = ${outcome.status}, next_attempt_at = ${outcome.nextAttemptAt},
        delivered_at = ${outcome.status === 'delivered' ? outcome.at : null}
    where id = ${id}`;
}

/** Gives a claimed delivery back without counting an attempt (used when shutting down mid-request). */
export async function releaseClaim(db: Db, id: string, at: Date): Promise<void> {
  await db`update wechatpay_sim.notifications set next_attempt_at = ${at} where id = ${id} and status = 'pending'`;
}

export async function listNotifications(db: Db, mchid: string, outTradeNo: string): Promise<NotificationRow[]> {
  return db<NotificationRow[]>`
    select * from wechatpay_sim.notifications where mchid = ${mchid} and out_trade_no = ${outTradeNo} order by created_at, id`;
}
