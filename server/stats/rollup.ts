// The rollups: the figures of small time slices recomputed from the raw tables and written over their
// rows, each hour folded from its slices and each Beijing day from its hours. Recomputing (never
// incrementing) is what makes every trigger idempotent — an event replayed, two consumers and the crons
// racing, a bill import — and a per-bucket advisory lock makes the last writer the one that read last.
// A slice is what keeps a recompute cheap however full the hour is: the consumer reads the minute its
// events fall in, not the 1.8 M orders an hour holds at 500 payments/s. The dashboard reads only the
// stats tables.
import { getTableColumns, sql } from 'drizzle-orm';
import type { Db, Tx } from '@/db/client';
import { statsBilledFees, statsDaily, statsHourly, statsSlices } from '@/db/schema';
import { BOUNDS_MS, emptyHist, fromRows, mergeHists } from './histogram';
import { beijingDay, DAY_MS, dayStart, daysBetween, HOUR_MS, hourStart, SLICE_MS, sliceStart } from './time';

/** The figures of one bucket (slice, hour or day). */
export type HourFigures = Omit<typeof statsHourly.$inferInsert, 'bucketStart' | 'computedAt'>;

const FEE_RATE_PER_MILLE = 6; // WeChat Pay's standard 0.6 %

const bounds = sql.raw(`array[${BOUNDS_MS.join(',')}]::float8[]`);
const ms = (expr: string) => sql.raw(`(extract(epoch from (${expr})) * 1000)`);
/** The slice an instant (an SQL expression) falls in: the same arithmetic as sliceStart. */
export const sliceOf = (expr: string) => sql.raw(`date_bin(interval '${SLICE_MS / 1000} seconds', ${expr}, timestamptz 'epoch')`);
const slice = sliceOf;

type Row = Record<string, unknown>;
/** A row of a query grouped by slice (s). */
type SliceRow = Row & { s: unknown };
async function rows<T extends Row>(tx: Tx | Db, query: ReturnType<typeof sql>): Promise<T[]> {
  return (await tx.execute(query)) as unknown as T[];
}
const n = (v: unknown) => Number(v ?? 0);
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/**
 * The smallest inbox id received at or after `t`. The inbox has no index on received_at (its insert is the
 * notify hot path, kept as it is), but ids follow arrival, so a binary search over the primary key finds
 * a range's ids in ~log2(rows) point reads — one statement (a recursive query), so a slice's recompute
 * does not pay a round trip per step; callers widen it by a margin and filter on the time.
 */
async function inboxIdAt(tx: Tx | Db, t: Date): Promise<number> {
  const [r] = await rows<{ id: string | null }>(
    tx,
    sql`with recursive b(lo, hi) as (
          select min(id), max(id) + 1 from wechatpay_notifications
          union all
          select case when r.id is not null and r.at < ${ts(t)} then r.id + 1 else b.lo end,
                 case when r.id is null then (b.lo + b.hi) / 2 when r.at < ${ts(t)} then b.hi else r.id end
          from b left join lateral (
            select id, received_at as at from wechatpay_notifications where id >= (b.lo + b.hi) / 2 and id < b.hi order by id limit 1
          ) r on true
          where b.lo < b.hi
        )
        select lo as id from b where lo >= hi`,
  );
  return Number(r?.id ?? 0);
}

// Ids are taken from a sequence as the insert runs and received_at is that statement's start (one
// statement, ingest-notification.ts), so ids and times disagree by a statement's duration at most; half a
// minute is far beyond that and keeps a minute's scan to two minutes of rows. A row stalled longer is
// still counted by the nightly recompute, whose ranges are whole days.
const INBOX_MARGIN_MS = 30_000;

/** The inbox rows received in [start, end), by id range then time (see inboxIdAt). */
async function inboxRange(tx: Tx | Db, start: Date, end: Date) {
  const idFrom = await inboxIdAt(tx, new Date(start.getTime() - INBOX_MARGIN_MS));
  const idTo = await inboxIdAt(tx, new Date(end.getTime() + INBOX_MARGIN_MS));
  return sql`from wechatpay_notifications where id >= ${idFrom} and id < ${idTo} and received_at >= ${ts(start)} and received_at < ${ts(end)}`;
}

/**
 * The figures of every slice in [start, end) that has any, read from orders, attempts, refunds, the inbox
 * and the reject counts, keyed by slice start (ms). The one place figures are computed: slices are
 * written from it, hours and days are sums of slices.
 */
export async function computeSlices(tx: Tx, start: Date, end: Date): Promise<Map<number, HourFigures>> {
  if (start.getTime() % SLICE_MS || end.getTime() % SLICE_MS) throw new RangeError('computeSlices: bounds must be slice starts');
  const s = ts(start);
  const e = ts(end);
  const money = sql`count(*) as n, coalesce(sum(amount_fen), 0) as fen,
    coalesce(sum(round(amount_fen * ${FEE_RATE_PER_MILLE} / 1000.0)), 0) as fees,
    count(*) filter (where paid_via = 'notify') as notify, count(*) filter (where paid_via = 'query') as query,
    count(*) filter (where paid_via = 'shopper') as shopper, count(*) filter (where paid_via = 'bill') as bill`;
  // Paid orders in one read: their figures by slice and time to pay (bucket b), summed per slice below.
  const paidByBucket = await rows<SliceRow & { b: number }>(
    tx,
    sql`select ${slice('paid_at')} as s, width_bucket(${ms('paid_at - created_at')}, ${bounds}) as b, ${money}
        from orders where paid_at >= ${s} and paid_at < ${e} group by 1, 2`,
  );
  const late = await rows<SliceRow>(
    tx,
    sql`select ${slice('paid_at')} as s, ${money} from payment_attempts where late_payment is not null and status = 'paid'
          and paid_at >= ${s} and paid_at < ${e} group by 1`,
  );
  // Refunds count when they succeed; a succeeded refund is terminal, so its updated_at is that moment.
  const refund = await rows<SliceRow>(
    tx,
    sql`select ${slice('updated_at')} as s, count(*) as n, coalesce(sum(amount_fen), 0) as fen from refunds
        where status = 'succeeded' and updated_at >= ${s} and updated_at < ${e} group by 1`,
  );
  const funnel = await rows<SliceRow>(
    tx,
    sql`select ${slice('o.created_at')} as s, count(*) as created, count(*) filter (where a.shown) as shown,
          count(*) filter (where o.paid_at is not null) as paid, count(*) filter (where o.status = 'closed') as expired,
          coalesce(sum(a.n), 0) as attempts
        from orders o cross join lateral (
          select count(*) as n, coalesce(bool_or(code_url is not null), false) as shown from payment_attempts a where a.order_id = o.id
        ) a
        where o.created_at >= ${s} and o.created_at < ${e} group by 1`,
  );
  // The inbox in one read: its counts by slice, and the two latency histograms by slice and bucket
  // (grouping sets; wb / ob is null in the rows of the other sets). A success_time that is not a timestamp
  // counts in no WeChat latency bucket.
  const inbox = await inboxRange(tx, start, end);
  const successTime = `(resource->>'success_time')::timestamptz`;
  const inboxRows = await rows<{ s: unknown; g: number; wb: number | null; ob: number | null; n: number; deliveries: number; last: unknown }>(
    tx,
    sql`select s, grouping(wb, ob) as g, wb, ob, count(*) as n, coalesce(sum(deliveries), 0) as deliveries, max(last_received_at) as last
        from (
          select ${slice('received_at')} as s, deliveries, last_received_at,
                 case when resource->>'success_time' ~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?([+-]\\d\\d:\\d\\d|Z)$'
                      then width_bucket(${ms(`received_at - ${successTime}`)}, ${bounds}) end as wb,
                 case when processed_at is not null then width_bucket(${ms('processed_at - received_at')}, ${bounds}) end as ob
          ${inbox}
        ) x
        group by grouping sets ((s), (s, wb), (s, ob))`,
  );
  // grouping(wb, ob): 3 for (s), 1 for (s, wb), 2 for (s, ob).
  const notify = inboxRows.filter((r) => Number(r.g) === 3);
  const wechat = inboxRows.filter((r) => Number(r.g) === 1 && r.wb !== null).map((r) => ({ s: r.s, b: Number(r.wb), n: r.n }));
  const ours = inboxRows.filter((r) => Number(r.g) === 2 && r.ob !== null).map((r) => ({ s: r.s, b: Number(r.ob), n: r.n }));
  const rejects = await rows<{ s: Date; reason: string; n: number }>(
    tx,
    sql`select ${slice('minute')} as s, reason, sum(count) as n from wechatpay_notification_reject_counts
        where minute >= ${s} and minute < ${e} group by 1, 2 order by 1, 2`,
  );

  const key = (r: { s: unknown }) => new Date(r.s as string).getTime();
  const by = (list: SliceRow[]) => new Map<number, Row>(list.map((r) => [key(r), r]));
  const grouped = <T extends { s: unknown }>(list: T[]) => {
    const m = new Map<number, T[]>();
    for (const r of list) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
    return m;
  };
  const paidBy = new Map<number, Row>();
  for (const r of paidByBucket) {
    const sum = paidBy.get(key(r)) ?? {};
    for (const k of PAID_SUMS) sum[k] = n(sum[k]) + n(r[k]);
    paidBy.set(key(r), sum);
  }
  const timeToPay = paidByBucket.map((r) => ({ s: r.s, b: Number(r.b), n: n(r.n) }));
  const [lateBy, refundBy, funnelBy, notifyBy] = [by(late), by(refund), by(funnel), by(notify)];
  const [ttpBy, wechatBy, oursBy, rejectsBy] = [grouped(timeToPay), grouped(wechat), grouped(ours), grouped(rejects)];
  const slices = new Set([...paidBy.keys(), ...lateBy.keys(), ...refundBy.keys(), ...funnelBy.keys(), ...notifyBy.keys(), ...rejectsBy.keys()]);
  const out = new Map<number, HourFigures>();
  for (const t of slices) {
    const p = paidBy.get(t) ?? {};
    const l = lateBy.get(t) ?? {};
    const r = refundBy.get(t) ?? {};
    const f = funnelBy.get(t) ?? {};
    const x = notifyBy.get(t) ?? {};
    const ttp = ttpBy.get(t) ?? [];
    out.set(t, {
      paidCount: n(p.n) + n(l.n),
      grossFen: n(p.fen) + n(l.fen),
      latePaidCount: n(l.n),
      latePaidFen: n(l.fen),
      refundCount: n(r.n),
      refundFen: n(r.fen),
      feesEstimatedFen: n(p.fees) + n(l.fees),
      viaNotify: n(p.notify) + n(l.notify),
      viaQuery: n(p.query) + n(l.query),
      viaShopper: n(p.shopper) + n(l.shopper),
      viaBill: n(p.bill) + n(l.bill),
      createdCount: n(f.created),
      qrShownCount: n(f.shown),
      createdPaidCount: n(f.paid),
      expiredCount: n(f.expired),
      attemptCount: n(f.attempts),
      timeToPayHist: ttp.length ? fromRows(ttp) : emptyHist(),
      notifyCount: n(x.n),
      notifyDeliveries: n(x.deliveries),
      wechatLatencyHist: fromRows(wechatBy.get(t) ?? []),
      ourLatencyHist: fromRows(oursBy.get(t) ?? []),
      rejects: Object.fromEntries((rejectsBy.get(t) ?? []).map((q) => [q.reason, n(q.n)])),
      lastNotifyAt: x.last ? new Date(x.last as string) : null,
    });
  }
  return out;
}

/** The columns of `money` (computeSlices), summed over a slice's time-to-pay buckets. */
const PAID_SUMS = ['n', 'fen', 'fees', 'notify', 'query', 'shopper', 'bill'] as const;

const LOCK_HOUR = 17_001;
const LOCK_DAY = 17_002;
const LOCK_SLICE = 17_003;

/**
 * Recomputes a run of consecutive slices [start, end) in one transaction (one read per raw table for the
 * run), each slice under its own lock — taken in ascending order by every caller, so callers that chunk
 * differently never deadlock. A slice with nothing in it keeps no row.
 */
async function recomputeRun(db: Db, start: Date, end: Date): Promise<void> {
  await db.transaction(async (tx) => {
    // generate_series yields ascending: the locks are taken in order, in one round trip.
    await tx.execute(
      sql`select pg_advisory_xact_lock(${LOCK_SLICE}, k::int) from generate_series(${start.getTime() / SLICE_MS}::bigint, ${end.getTime() / SLICE_MS - 1}::bigint) k`,
    );
    const figures = await computeSlices(tx, start, end);
    const rows = [...figures].filter(([, f]) => !isEmpty(f)).map(([t, f]) => ({ ...f, bucketStart: new Date(t), computedAt: sql`now()` }));
    const keep = rows.map((r) => r.bucketStart.toISOString());
    await tx.delete(statsSlices).where(
      sql`${statsSlices.bucketStart} >= ${ts(start)} and ${statsSlices.bucketStart} < ${ts(end)}
          and not (${statsSlices.bucketStart} = any(${`{${keep.join(',')}}`}::timestamptz[]))`,
    );
    if (rows.length === 0) return;
    await tx.insert(statsSlices).values(rows).onConflictDoUpdate({ target: statsSlices.bucketStart, set: EXCLUDED });
  });
}

/** `set` of a multi-row upsert: every figure from the row that was proposed. */
const EXCLUDED = Object.fromEntries(
  Object.entries(getTableColumns(statsSlices))
    .filter(([k]) => k !== 'bucketStart')
    .map(([k, c]) => [k, sql.raw(`excluded."${c.name}"`)]),
);

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

/** Sums slices (or hours, or days) into one set of figures. */
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

/** Folds an hour from its slices (an hour without slices keeps no row). */
export async function foldHour(db: Db, hour: Date): Promise<void> {
  const from = hourStart(hour);
  const to = new Date(from.getTime() + HOUR_MS);
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_HOUR}, ${Math.floor(from.getTime() / HOUR_MS)})`);
    const slices = await tx
      .select()
      .from(statsSlices)
      .where(sql`${statsSlices.bucketStart} >= ${ts(from)} and ${statsSlices.bucketStart} < ${ts(to)}`);
    if (slices.length === 0) {
      await tx.delete(statsHourly).where(sql`${statsHourly.bucketStart} = ${ts(from)}`);
      return;
    }
    const row = { ...sumFigures(slices), bucketStart: from, computedAt: sql`now()` };
    await tx.insert(statsHourly).values(row).onConflictDoUpdate({ target: statsHourly.bucketStart, set: row });
  });
}

/** Folds a Beijing day from its hours and the bill's fees. */
export async function foldDay(db: Db, day: string): Promise<void> {
  const from = dayStart(day);
  const to = new Date(from.getTime() + DAY_MS);
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_DAY}, ${Math.floor(from.getTime() / DAY_MS)})`);
    const hours = await tx
      .select()
      .from(statsHourly)
      .where(sql`${statsHourly.bucketStart} >= ${ts(from)} and ${statsHourly.bucketStart} < ${ts(to)}`);
    const [billed] = await rows<{ fen: string | null }>(tx, sql`select sum(fees_fen) as fen from ${statsBilledFees} where day = ${day}::date`);
    const feesBilledFen = billed?.fen == null ? null : Number(billed.fen);
    if (hours.length === 0 && feesBilledFen == null) {
      await tx.delete(statsDaily).where(sql`${statsDaily.day} = ${day}::date`);
      return;
    }
    const row = { ...sumFigures(hours), day, feesBilledFen, computedAt: sql`now()` };
    await tx.insert(statsDaily).values(row).onConflictDoUpdate({ target: statsDaily.day, set: row });
  });
}

/**
 * Recomputes a set of slices, then folds the hours and days they fall in. Consecutive slices of one hour
 * are recomputed together (one read per raw table); a run never crosses an hour, which bounds the locks
 * a transaction holds. Returns the number of slices.
 */
export async function recomputeSlices(db: Db, slices: Iterable<Date>, alsoFold: { hours?: Iterable<Date>; days?: Iterable<string> } = {}): Promise<number> {
  const unique = [...new Set([...slices].map((t) => sliceStart(t).getTime()))].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const t of unique) {
    const last = runs.at(-1);
    if (last && last[1] === t && hourStart(new Date(t)).getTime() === hourStart(new Date(last[0])).getTime()) last[1] = t + SLICE_MS;
    else runs.push([t, t + SLICE_MS]);
  }
  for (const [a, b] of runs) await recomputeRun(db, new Date(a), new Date(b));
  const hours = new Set([...unique, ...[...(alsoFold.hours ?? [])].map((h) => h.getTime())].map((t) => hourStart(new Date(t)).getTime()));
  for (const h of [...hours].sort((a, b) => a - b)) await foldHour(db, new Date(h));
  const days = new Set([...[...hours].map((h) => beijingDay(new Date(h))), ...(alsoFold.days ?? [])]);
  for (const day of [...days].sort()) await foldDay(db, day);
  return unique.length;
}

/**
 * The slices of [start, end) that have anything to recompute, in one set-based query: those with raw data,
 * and those with a row the data has since left (to be deleted).
 */
export async function slicesWithData(db: Db, start: Date, end: Date): Promise<Date[]> {
  const s = ts(start);
  const e = ts(end);
  const inbox = await inboxRange(db, start, end);
  const found = await rows<{ s: string | Date }>(
    db,
    sql`select ${slice('orders.paid_at')} as s from orders where paid_at >= ${s} and paid_at < ${e}
        union select ${slice('orders.created_at')} from orders where created_at >= ${s} and created_at < ${e}
        union select ${slice('paid_at')} from payment_attempts where late_payment is not null and status = 'paid' and paid_at >= ${s} and paid_at < ${e}
        union select ${slice('updated_at')} from refunds where status = 'succeeded' and updated_at >= ${s} and updated_at < ${e}
        union select ${slice('received_at')} ${inbox}
        union select ${slice('minute')} from wechatpay_notification_reject_counts where minute >= ${s} and minute < ${e}
        union select bucket_start from ${statsSlices} where bucket_start >= ${s} and bucket_start < ${e}
        order by 1`,
  );
  return found.map((r) => new Date(r.s));
}

/**
 * Recomputes every slice, hour and day from `fromDate` to `toDate` (Beijing dates, both included): the
 * nightly lookback, the bill import after it replaced estimated fees (recordBilledFees then this), and the
 * rebuild of any range by hand. Only the slices slicesWithData finds are read; hours with a row but no
 * slice (the data gone, or rows older than the slices) are folded too, so they go.
 */
export async function recomputeStats(db: Db, fromDate: string, toDate: string): Promise<void> {
  const days = daysBetween(fromDate, toDate);
  const start = dayStart(days[0]!);
  const end = new Date(dayStart(days.at(-1)!).getTime() + DAY_MS);
  const slices = await slicesWithData(db, start, end);
  const hours = await db
    .select({ h: statsHourly.bucketStart })
    .from(statsHourly)
    .where(sql`${statsHourly.bucketStart} >= ${ts(start)} and ${statsHourly.bucketStart} < ${ts(end)}`);
  await recomputeSlices(db, slices, { hours: hours.map((r) => new Date(r.h)), days });
}

/** The bill import's fees for a Beijing day (call recomputeStats for the day afterwards). */
export async function recordBilledFees(db: Db | Tx, day: string, feesFen: number, source = 'ALL'): Promise<void> {
  await db
    .insert(statsBilledFees)
    .values({ day, source, feesFen })
    .onConflictDoUpdate({ target: [statsBilledFees.day, statsBilledFees.source], set: { feesFen, importedAt: new Date() } });
}

/** The Beijing day of the first order (where a full recompute starts), or null with no orders. */
export async function firstOrderDay(db: Db): Promise<string | null> {
  const [first] = await rows<{ at: string | null }>(db, sql`select min(created_at)::text as at from orders`);
  return first?.at ? beijingDay(new Date(first.at)) : null;
}
