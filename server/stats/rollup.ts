// The rollups: one hour's figures recomputed from the raw tables and written over its row, then its
// Beijing day folded from its hours. Recomputing (never incrementing) is what makes every trigger
// idempotent — an event replayed, two consumers and the nightly cron racing, a bill import — and a
// per-bucket advisory lock makes the last writer the one that read last. Reads are index range scans of
// one hour; the dashboard reads only the stats tables.
import { sql } from 'drizzle-orm';
import type { Db, Tx } from '@/db/client';
import { statsBilledFees, statsDaily, statsHourly } from '@/db/schema';
import { BOUNDS_MS, emptyHist, fromRows, mergeHists } from './histogram';
import { beijingDay, dayStart, daysBetween, HOUR_MS, hourStart } from './time';

export type HourFigures = Omit<typeof statsHourly.$inferInsert, 'bucketStart' | 'computedAt'>;

const FEE_RATE_PER_MILLE = 6; // WeChat Pay's standard 0.6 %

const bounds = sql.raw(`array[${BOUNDS_MS.join(',')}]::float8[]`);
const ms = (expr: string) => sql.raw(`(extract(epoch from (${expr})) * 1000)`);

type Row = Record<string, unknown>;
async function rows<T extends Row>(tx: Tx, query: ReturnType<typeof sql>): Promise<T[]> {
  return (await tx.execute(query)) as unknown as T[];
}
const n = (v: unknown) => Number(v ?? 0);

/**
 * The smallest inbox id received at or after `t`. The inbox has no index on received_at (its insert is the
 * notify hot path, kept as it is), but ids follow arrival, so a binary search over the primary key finds
 * the hour's id range in ~log2(rows) point reads; callers widen it by a margin and filter on the time.
 */
async function inboxIdAt(tx: Tx, t: Date): Promise<number> {
  const [bounds] = await rows<{ lo: string | null; hi: string | null }>(tx, sql`select min(id) as lo, max(id) as hi from wechatpay_notifications`);
  if (!bounds?.lo) return 0;
  let lo = Number(bounds.lo);
  let hi = Number(bounds.hi) + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [r] = await rows<{ id: string; at: Date }>(
      tx,
      sql`select id, received_at as at from wechatpay_notifications where id >= ${mid} and id < ${hi} order by id limit 1`,
    );
    if (!r) hi = mid;
    else if (new Date(r.at).getTime() < t.getTime()) lo = Number(r.id) + 1;
    else hi = Number(r.id);
  }
  return lo;
}

// Ids are taken from a sequence before the row commits: a row may appear a little out of order.
const INBOX_MARGIN_MS = 5 * 60_000;

/** One hour's figures, read from orders, attempts, refunds, the inbox and the reject counts. */
export async function computeHour(tx: Tx, start: Date): Promise<HourFigures> {
  const s = start.toISOString();
  const e = new Date(start.getTime() + HOUR_MS).toISOString();
  const [paid] = await rows(
    tx,
    sql`select count(*) as n, coalesce(sum(amount_fen), 0) as fen,
          coalesce(sum(round(amount_fen * ${FEE_RATE_PER_MILLE} / 1000.0)), 0) as fees,
          count(*) filter (where paid_via = 'notify') as notify, count(*) filter (where paid_via = 'query') as query,
          count(*) filter (where paid_via = 'shopper') as shopper, count(*) filter (where paid_via = 'bill') as bill
        from orders where paid_at >= ${s}::timestamptz and paid_at < ${e}::timestamptz`,
  );
  const [late] = await rows(
    tx,
    sql`select count(*) as n, coalesce(sum(amount_fen), 0) as fen,
          coalesce(sum(round(amount_fen * ${FEE_RATE_PER_MILLE} / 1000.0)), 0) as fees,
          count(*) filter (where paid_via = 'notify') as notify, count(*) filter (where paid_via = 'query') as query,
          count(*) filter (where paid_via = 'shopper') as shopper, count(*) filter (where paid_via = 'bill') as bill
        from payment_attempts where late_payment is not null and status = 'paid'
          and paid_at >= ${s}::timestamptz and paid_at < ${e}::timestamptz`,
  );
  const timeToPay = await rows<{ b: number; n: number }>(
    tx,
    sql`select width_bucket(${ms('paid_at - created_at')}, ${bounds}) as b, count(*) as n
        from orders where paid_at >= ${s}::timestamptz and paid_at < ${e}::timestamptz group by 1`,
  );
  // Refunds count when they succeed; a succeeded refund is terminal, so its updated_at is that moment.
  const [refund] = await rows(
    tx,
    sql`select count(*) as n, coalesce(sum(amount_fen), 0) as fen from refunds
        where status = 'succeeded' and updated_at >= ${s}::timestamptz and updated_at < ${e}::timestamptz`,
  );
  const [funnel] = await rows(
    tx,
    sql`select count(*) as created, count(*) filter (where a.shown) as shown, count(*) filter (where o.paid_at is not null) as paid,
          count(*) filter (where o.status = 'closed') as expired, coalesce(sum(a.n), 0) as attempts
        from orders o cross join lateral (
          select count(*) as n, coalesce(bool_or(code_url is not null), false) as shown from payment_attempts a where a.order_id = o.id
        ) a
        where o.created_at >= ${s}::timestamptz and o.created_at < ${e}::timestamptz`,
  );
  const idFrom = await inboxIdAt(tx, new Date(start.getTime() - INBOX_MARGIN_MS));
  const idTo = await inboxIdAt(tx, new Date(start.getTime() + HOUR_MS + INBOX_MARGIN_MS));
  const inbox = sql`from wechatpay_notifications where id >= ${idFrom} and id < ${idTo}
    and received_at >= ${s}::timestamptz and received_at < ${e}::timestamptz`;
  const [notify] = await rows(tx, sql`select count(*) as n, coalesce(sum(deliveries), 0) as deliveries, max(last_received_at) as last ${inbox}`);
  const successTime = `(resource->>'success_time')::timestamptz`;
  const wechat = await rows<{ b: number; n: number }>(
    tx,
    sql`select width_bucket(${ms(`received_at - ${successTime}`)}, ${bounds}) as b, count(*) as n ${inbox}
        and resource->>'success_time' ~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?([+-]\\d\\d:\\d\\d|Z)$' group by 1`,
  );
  const ours = await rows<{ b: number; n: number }>(
    tx,
    sql`select width_bucket(${ms('processed_at - received_at')}, ${bounds}) as b, count(*) as n ${inbox} and processed_at is not null group by 1`,
  );
  const rejects = await rows<{ reason: string; n: number }>(
    tx,
    sql`select reason, sum(count) as n from wechatpay_notification_reject_counts
        where minute >= ${s}::timestamptz and minute < ${e}::timestamptz group by reason order by reason`,
  );
  return {
    paidCount: n(paid!.n) + n(late!.n),
    grossFen: n(paid!.fen) + n(late!.fen),
    latePaidCount: n(late!.n),
    latePaidFen: n(late!.fen),
    refundCount: n(refund!.n),
    refundFen: n(refund!.fen),
    feesEstimatedFen: n(paid!.fees) + n(late!.fees),
    viaNotify: n(paid!.notify) + n(late!.notify),
    viaQuery: n(paid!.query) + n(late!.query),
    viaShopper: n(paid!.shopper) + n(late!.shopper),
    viaBill: n(paid!.bill) + n(late!.bill),
    createdCount: n(funnel!.created),
    qrShownCount: n(funnel!.shown),
    createdPaidCount: n(funnel!.paid),
    expiredCount: n(funnel!.expired),
    attemptCount: n(funnel!.attempts),
    timeToPayHist: timeToPay.length ? fromRows(timeToPay) : emptyHist(),
    notifyCount: n(notify!.n),
    notifyDeliveries: n(notify!.deliveries),
    wechatLatencyHist: fromRows(wechat),
    ourLatencyHist: fromRows(ours),
    rejects: Object.fromEntries(rejects.map((r) => [r.reason, n(r.n)])),
    lastNotifyAt: notify!.last ? new Date(notify!.last as string) : null,
  };
}

const LOCK_HOUR = 17_001;
const LOCK_DAY = 17_002;

/** Recomputes one hour and writes it (an hour with nothing in it keeps no row). */
export async function recomputeHour(db: Db, start: Date): Promise<void> {
  const bucket = hourStart(start);
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_HOUR}, ${Math.floor(bucket.getTime() / HOUR_MS)})`);
    const f = await computeHour(tx, bucket);
    if (isEmpty(f)) {
      await tx.delete(statsHourly).where(sql`${statsHourly.bucketStart} = ${bucket.toISOString()}::timestamptz`);
      return;
    }
    const row = { ...f, bucketStart: bucket, computedAt: new Date() };
    await tx.insert(statsHourly).values(row).onConflictDoUpdate({ target: statsHourly.bucketStart, set: row });
  });
}

function isEmpty(f: HourFigures): boolean {
  return !f.paidCount && !f.refundCount && !f.createdCount && !f.notifyCount && Object.keys(f.rejects ?? {}).length === 0;
}

const SUMMED = [
  'paidCount',
  'grossFen',
  'latePaidCount',
  'latePaidFen',
  'refundCount',
  'refundFen',
  'feesEstimatedFen',
  'viaNotify',
  'viaQuery',
  'viaShopper',
  'viaBill',
  'createdCount',
  'qrShownCount',
  'createdPaidCount',
  'expiredCount',
  'attemptCount',
  'notifyCount',
  'notifyDeliveries',
] as const satisfies readonly (keyof HourFigures)[];
const HISTS = ['timeToPayHist', 'wechatLatencyHist', 'ourLatencyHist'] as const satisfies readonly (keyof HourFigures)[];

/** Sums hours (or days) into one set of figures. */
export function sumFigures(parts: readonly HourFigures[]): HourFigures {
  const out: Record<string, unknown> = {};
  for (const k of SUMMED) out[k] = parts.reduce((a, p) => a + n(p[k]), 0);
  for (const k of HISTS) out[k] = mergeHists(parts.map((p) => (p[k] as number[] | undefined) ?? []));
  const rejects: Record<string, number> = {};
  for (const p of parts) for (const [r, c] of Object.entries(p.rejects ?? {})) rejects[r] = (rejects[r] ?? 0) + c;
  out.rejects = rejects;
  const last = parts
    .map((p) => p.lastNotifyAt)
    .filter((d): d is Date => !!d)
    .map((d) => new Date(d).getTime());
  out.lastNotifyAt = last.length ? new Date(Math.max(...last)) : null;
  return out as HourFigures;
}

/** Folds a Beijing day from its hours and the bill's fees. */
export async function foldDay(db: Db, day: string): Promise<void> {
  const from = dayStart(day);
  const to = new Date(from.getTime() + 24 * HOUR_MS);
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_DAY}, ${Math.floor(from.getTime() / HOUR_MS / 24)})`);
    const hours = await tx
      .select()
      .from(statsHourly)
      .where(sql`${statsHourly.bucketStart} >= ${from.toISOString()}::timestamptz and ${statsHourly.bucketStart} < ${to.toISOString()}::timestamptz`);
    const [billed] = await rows<{ fen: string | null }>(tx, sql`select sum(fees_fen) as fen from ${statsBilledFees} where day = ${day}::date`);
    const feesBilledFen = billed?.fen == null ? null : Number(billed.fen);
    if (hours.length === 0 && feesBilledFen == null) {
      await tx.delete(statsDaily).where(sql`${statsDaily.day} = ${day}::date`);
      return;
    }
    const row = { ...sumFigures(hours), day, feesBilledFen, computedAt: new Date() };
    await tx.insert(statsDaily).values(row).onConflictDoUpdate({ target: statsDaily.day, set: row });
  });
}

/** Recomputes a set of hours and then the days they fall in. */
export async function recomputeHours(db: Db, hours: Iterable<Date>): Promise<number> {
  const unique = [...new Set([...hours].map((h) => hourStart(h).getTime()))].sort((a, b) => a - b).map((t) => new Date(t));
  for (const h of unique) await recomputeHour(db, h);
  for (const day of new Set(unique.map(beijingDay))) await foldDay(db, day);
  return unique.length;
}

/**
 * Recomputes every hour and day from `fromDate` to `toDate` (Beijing dates, both included): the nightly
 * lookback, and the bill import after it replaced estimated fees (recordBilledFees then this).
 */
export async function recomputeStats(db: Db, fromDate: string, toDate: string): Promise<void> {
  const days = daysBetween(fromDate, toDate);
  const hours: Date[] = [];
  for (const day of days) for (let i = 0; i < 24; i++) hours.push(new Date(dayStart(day).getTime() + i * HOUR_MS));
  for (const h of hours) await recomputeHour(db, h);
  for (const day of days) await foldDay(db, day);
}

/** The bill import's fees for a Beijing day (call recomputeStats for the day afterwards). */
export async function recordBilledFees(db: Db | Tx, day: string, feesFen: number, source = 'ALL'): Promise<void> {
  await db
    .insert(statsBilledFees)
    .values({ day, source, feesFen })
    .onConflictDoUpdate({ target: [statsBilledFees.day, statsBilledFees.source], set: { feesFen, importedAt: new Date() } });
}
