// The watchlists: conditions that need a person, checked every minute (monitoring.evaluate). Each rule
// reports what it finds now; evaluateWatchlists raises an alert for a new finding and resolves the alerts
// of findings that are gone, in one transaction under one lock, so running it twice (or on two workers)
// changes nothing. A rule is one entry of WATCHLISTS; for the webhook and reconciliation rules, what they
// look at is read by those areas, next to the tables they own (server/webhooks/watch.ts, server/reconciliation/watch.ts).
import { sql } from 'drizzle-orm';
import type { Db, Tx } from '@/db/client';
import { lateBills, openDiscrepancyDays } from '@/server/reconciliation/watch';
import { failingEndpoints, overdueDeliveries } from '@/server/webhooks/watch';
import { openWatchAlerts, raiseAlert, resolveAlertBySystem, type Finding } from './alerts';
import { getThresholds, type Thresholds } from './settings';

export interface WatchContext {
  now: Date;
  thresholds: Thresholds;
}

export interface WatchRule {
  /** Prefix of its findings' keys (`<name>` or `<name>:<subject>`). */
  name: string;
  find(tx: Tx, ctx: WatchContext): Promise<Finding[]>;
}

type Row = Record<string, unknown>;
const q = async <T extends Row>(tx: Tx, query: ReturnType<typeof sql>) => (await tx.execute(query)) as unknown as T[];
const minutesAgo = (ctx: WatchContext, m: number) => new Date(ctx.now.getTime() - m * 60_000).toISOString();

/** Money taken for an attempt we had closed, or a second time for a paid order, not yet refunded. */
const paidPastExpiry: WatchRule = {
  name: 'paid_past_expiry',
  async find(tx) {
    const rows = await q<{ id: string; order_id: string; out_trade_no: string; amount_fen: number; late_payment: string; status: string }>(
      tx,
      sql`select a.id, a.order_id, a.out_trade_no, a.amount_fen, a.late_payment, o.status from payment_attempts a
          join orders o on o.id = a.order_id
          where a.late_payment is not null and a.status = 'paid'
            and (o.status = 'review' or not exists (select 1 from refunds r where r.attempt_id = a.id and r.status = 'succeeded'))`,
    );
    return rows.map((r) => ({
      key: `paid_past_expiry:${r.id}`,
      kind: 'watch.paid_past_expiry',
      orderId: r.order_id,
      message: `${r.out_trade_no} was paid ${r.late_payment === 'after_close' ? 'after its QR code was closed' : 'a second time'} and is not refunded yet`,
      data: { attemptId: r.id, outTradeNo: r.out_trade_no, amountFen: r.amount_fen, late: r.late_payment, orderStatus: r.status },
    }));
  },
};

const refundStuck: WatchRule = {
  name: 'refund_stuck',
  async find(tx, ctx) {
    const rows = await q<{ id: string; order_id: string; out_refund_no: string; status: string; created_at: string }>(
      tx,
      sql`select id, order_id, out_refund_no, status, created_at from refunds
          where status in ('requested', 'processing') and created_at < ${minutesAgo(ctx, ctx.thresholds.refundProcessingMinutes)}::timestamptz`,
    );
    return rows.map((r) => ({
      key: `refund_stuck:${r.id}`,
      kind: 'watch.refund_stuck',
      orderId: r.order_id,
      message: `Refund ${r.out_refund_no} is still ${r.status} after ${ctx.thresholds.refundProcessingMinutes} minutes`,
      data: { refundId: r.id, outRefundNo: r.out_refund_no, status: r.status, since: r.created_at },
    }));
  },
};

const inboxUnprocessed: WatchRule = {
  name: 'inbox_unprocessed',
  async find(tx, ctx) {
    const [r] = await q<{ n: number; oldest: string | null }>(
      tx,
      sql`select count(*)::int as n, min(received_at) as oldest from wechatpay_notifications
          where processed_at is null and received_at < ${minutesAgo(ctx, ctx.thresholds.inboxUnprocessedMinutes)}::timestamptz`,
    );
    if (!r?.n) return [];
    return [
      {
        key: 'inbox_unprocessed',
        kind: 'watch.inbox_unprocessed',
        message: `${r.n} verified notifications wait unprocessed for over ${ctx.thresholds.inboxUnprocessedMinutes} minutes`,
        data: { count: r.n, oldest: r.oldest },
      },
    ];
  },
};

/** Payments are being made (learned by query or the shopper) while no notification arrives. */
const notifySilence: WatchRule = {
  name: 'notify_silence',
  async find(tx, ctx) {
    const since = minutesAgo(ctx, ctx.thresholds.notifySilenceMinutes);
    const [paid] = await q<{ n: number }>(
      tx,
      sql`select count(*)::int as n from orders where paid_at >= ${since}::timestamptz and paid_at <= ${ctx.now.toISOString()}::timestamptz`,
    );
    if (!paid?.n) return [];
    // The newest rows by id (the inbox has no time index: its insert is the notify hot path), and their
    // latest delivery, so a redelivered notification counts as one arriving.
    const [last] = await q<{ at: string | null }>(
      tx,
      sql`select max(last_received_at) as at from (select last_received_at from wechatpay_notifications order by id desc limit 100) r`,
    );
    if (last?.at && new Date(last.at).getTime() >= Date.parse(since)) return [];
    return [
      {
        key: 'notify_silence',
        kind: 'watch.notify_silence',
        message: `No WeChat notification for ${ctx.thresholds.notifySilenceMinutes} minutes while ${paid.n} payments were made: check the notify URL, TLS and firewall`,
        data: { paymentsInWindow: paid.n, lastNotificationAt: last?.at ?? null },
      },
    ];
  },
};

const deadLetters: WatchRule = {
  name: 'dead_letters',
  async find(tx) {
    const rows = await q<{ name: string; n: number }>(
      tx,
      sql`select name, count(*)::int as n from pgboss.job where name like '%.dead' and state in ('created', 'retry', 'active') group by name order by name`,
    );
    return rows.map((r) => ({
      key: `dead_letters:${r.name}`,
      kind: 'watch.dead_letters',
      message: `${r.n} dead letters in ${r.name}: retry or discard them in the queue monitor`,
      data: { queue: r.name, count: r.n },
    }));
  },
};

const queueBacklog: WatchRule = {
  name: 'queue_backlog',
  async find(tx, ctx) {
    const rows = await q<{ name: string; oldest: string; n: number }>(
      tx,
      sql`select name, min(start_after) as oldest, count(*)::int as n from pgboss.job
          where state in ('created', 'retry') and name not like '%.dead'
            and start_after < now() - make_interval(mins => ${ctx.thresholds.oldestReadyMinutes}) group by name order by name`,
    );
    return rows.map((r) => ({
      key: `queue_backlog:${r.name}`,
      kind: 'watch.queue_backlog',
      message: `${r.name}: ${r.n} ready jobs waiting over ${ctx.thresholds.oldestReadyMinutes} minutes (is a worker running?)`,
      data: { queue: r.name, count: r.n, oldestReadySince: r.oldest },
    }));
  },
};

/** Runs of the last hour that failed (dead-lettered or waiting for a retry), per queue. */
const failureRate: WatchRule = {
  name: 'failure_rate',
  async find(tx, ctx) {
    const rows = await q<{ name: string; failed: number; total: number }>(
      tx,
      sql`select name, count(*) filter (where state in ('failed', 'retry'))::int as failed, count(*)::int as total from pgboss.job
          where name not like '%.dead' and ((state in ('completed', 'failed') and completed_on > now() - interval '1 hour')
             or (state = 'retry' and retry_count > 0 and started_on > now() - interval '1 hour'))
          group by name`,
    );
    const { failureRatePercent: pct, failureRateMinRuns: min } = ctx.thresholds;
    return rows
      .filter((r) => r.total >= min && (100 * r.failed) / r.total > pct)
      .map((r) => ({
        key: `failure_rate:${r.name}`,
        kind: 'watch.failure_rate',
        message: `${r.name}: ${r.failed} of ${r.total} runs failed in the last hour (over ${pct} %)`,
        data: { queue: r.name, failed: r.failed, total: r.total },
      }));
  },
};

/** Webhook deliveries due for longer than the queue threshold: like a queue backlog, no worker is taking them. */
const deliveriesOverdue: WatchRule = {
  name: 'webhook_deliveries_overdue',
  async find(tx, ctx) {
    const minutes = ctx.thresholds.oldestReadyMinutes;
    const overdue = await overdueDeliveries(tx, new Date(ctx.now.getTime() - minutes * 60_000));
    if (!overdue) return [];
    return [
      {
        key: 'webhook_deliveries_overdue',
        kind: 'watch.webhook_deliveries_overdue',
        message: `${overdue.count} webhook deliveries due over ${minutes} minutes ago are not yet attempted (is a worker running?)`,
        data: { count: overdue.count, oldestDueAt: overdue.oldestDueAt.toISOString() },
      },
    ];
  },
};

/** An enabled webhook endpoint failing every delivery for longer than the threshold. */
const endpointFailing: WatchRule = {
  name: 'webhook_endpoint_failing',
  async find(tx, ctx) {
    const minutes = ctx.thresholds.endpointFailingMinutes;
    return (await failingEndpoints(tx, new Date(ctx.now.getTime() - minutes * 60_000))).map((e) => {
      const last = e.lastError ?? (e.lastStatus === null ? null : `HTTP ${e.lastStatus}`);
      return {
        key: `webhook_endpoint_failing:${e.id}`,
        kind: 'watch.webhook_endpoint_failing',
        message: `Webhook endpoint ${e.url} has failed every delivery for over ${minutes} minutes${last ? ` (last: ${last})` : ''}`,
        data: { endpointId: e.id, url: e.url, failingSince: e.failingSince.toISOString(), lastStatus: e.lastStatus, lastError: e.lastError },
      };
    });
  },
};

/** A day's bills not all in by the deadline hour (Beijing) of the next day. */
const billNotFetched: WatchRule = {
  name: 'bill_not_fetched',
  async find(tx, ctx) {
    const hour = String(ctx.thresholds.billDeadlineHour).padStart(2, '0');
    return (await lateBills(tx, ctx.now, ctx.thresholds.billDeadlineHour)).map(({ day, missing, files }) => ({
      key: `bill_not_fetched:${day}`,
      kind: 'watch.bill_not_fetched',
      message: `The bills of ${day} are not in by ${hour}:00 Beijing time (${missing.map((k) => `${k}: ${files[k] ?? 'not fetched'}`).join(', ')})`,
      data: { billDate: day, missing, files },
    }));
  },
};

/** A day with open discrepancies, until a repair or a person settles every one of them. */
const openDiscrepancies: WatchRule = {
  name: 'reconciliation_open_discrepancies',
  async find(tx) {
    return (await openDiscrepancyDays(tx)).map((d) => ({
      key: `reconciliation_open_discrepancies:${d.billDate}`,
      kind: 'watch.reconciliation_open_discrepancies',
      message: `${d.count} open discrepancies on ${d.billDate} (${d.classes.join(', ')}): decide them in reconciliation`,
      data: { billDate: d.billDate, count: d.count, classes: d.classes },
    }));
  },
};

export const WATCHLISTS: readonly WatchRule[] = [
  paidPastExpiry,
  refundStuck,
  inboxUnprocessed,
  notifySilence,
  deadLetters,
  queueBacklog,
  failureRate,
  deliveriesOverdue,
  endpointFailing,
  billNotFetched,
  openDiscrepancies,
];

const LOCK = 17_101;

/** One evaluation of every rule: raises new findings, resolves vanished ones. */
export async function evaluateWatchlists(db: Db, opts: { now: Date; rules?: readonly WatchRule[] }): Promise<{ raised: string[]; resolved: string[] }> {
  return db.transaction(async (tx) => {
    // One evaluator at a time; a second one waits and then sees the first one's alerts.
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK})`);
    const ctx = { now: opts.now, thresholds: await getThresholds(tx) };
    const raised: string[] = [];
    const resolved: string[] = [];
    for (const rule of opts.rules ?? WATCHLISTS) {
      const findings = await rule.find(tx, ctx);
      const keys = new Set(findings.map((f) => f.key));
      const open = await openWatchAlerts(tx, rule.name);
      const openKeys = new Set(open.map((a) => a.ruleKey));
      for (const f of findings) if (!openKeys.has(f.key) && (await raiseAlert(tx, f))) raised.push(f.key);
      for (const a of open) {
        // `x` must not resolve `x_y`'s alerts: a key is the name or the name + ':'.
        if (a.ruleKey !== rule.name && !a.ruleKey!.startsWith(`${rule.name}:`)) continue;
        if (!keys.has(a.ruleKey!) && (await resolveAlertBySystem(tx, a.id, 'condition cleared'))) resolved.push(a.ruleKey!);
      }
    }
    return { raised, resolved };
  });
}
