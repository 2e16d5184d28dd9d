// What the dashboard shows for a range of Beijing days, from the stats tables only (never the order
// tables): totals and the same-length period before it, a series per day (per hour for a single day),
// the funnel, time to pay, and notify health.
import { and, desc, gte, isNotNull, lt, lte, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { alerts, statsDaily, statsHourly } from '@/db/schema';
import { quantile } from './histogram';
import { sumFigures, type HourFigures } from './rollup';
import { addDays, dayStart, daysBetween, HOUR_MS } from './time';

export const DashboardRange = z
  .object({ from: z.iso.date(), to: z.iso.date() })
  .refine((r) => r.from <= r.to, { message: 'from must not be after to' })
  .refine((r) => daysBetween(r.from, r.to).length <= 366, { message: 'at most 366 days' });

const finite = (v: number | null) => (v == null || !Number.isFinite(v) ? null : v);

function totals(f: HourFigures, billedFees: number | null) {
  const paid = f.paidCount ?? 0;
  const gross = f.grossFen ?? 0;
  const refundFen = f.refundFen ?? 0;
  const fees = billedFees ?? f.feesEstimatedFen ?? 0;
  return {
    grossFen: gross,
    paidCount: paid,
    averageTicketFen: paid ? Math.round(gross / paid) : 0,
    refundCount: f.refundCount ?? 0,
    refundFen,
    /** Refunded share of gross, 0..1. */
    refundRate: gross ? refundFen / gross : 0,
    feesFen: fees,
    feesBilled: billedFees != null,
    netFen: gross - refundFen - fees,
  };
}

function detail(f: HourFigures) {
  const created = f.createdCount ?? 0;
  return {
    funnel: { created, qrShown: f.qrShownCount ?? 0, paid: f.createdPaidCount ?? 0, expired: f.expiredCount ?? 0 },
    expiryShare: created ? (f.expiredCount ?? 0) / created : 0,
    renewalsPerOrder: created ? Math.max(0, (f.attemptCount ?? 0) - created) / created : 0,
    timeToPayMs: { p50: finite(quantile(f.timeToPayHist ?? [], 0.5)), p95: finite(quantile(f.timeToPayHist ?? [], 0.95)) },
    learnedVia: { notify: f.viaNotify ?? 0, query: f.viaQuery ?? 0, shopper: f.viaShopper ?? 0, bill: f.viaBill ?? 0 },
    wechatLatencyMs: { p50: finite(quantile(f.wechatLatencyHist ?? [], 0.5)), p95: finite(quantile(f.wechatLatencyHist ?? [], 0.95)) },
    ourLatencyMs: { p50: finite(quantile(f.ourLatencyHist ?? [], 0.5)), p95: finite(quantile(f.ourLatencyHist ?? [], 0.95)) },
    duplicateRatio: f.notifyDeliveries ? ((f.notifyDeliveries ?? 0) - (f.notifyCount ?? 0)) / (f.notifyDeliveries ?? 1) : 0,
    rejects: Object.entries(f.rejects ?? {})
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count),
  };
}

async function daysOf(db: DbOrTx, from: string, to: string) {
  return db
    .select()
    .from(statsDaily)
    .where(and(gte(statsDaily.day, from), lte(statsDaily.day, to)));
}

export async function dashboardStats(db: DbOrTx, range: { from: string; to: string }, now: Date = new Date()) {
  const { from, to } = DashboardRange.parse(range);
  const days = daysBetween(from, to);
  const prevTo = addDays(from, -1);
  const prevFrom = addDays(from, -days.length);
  const [current, previous] = await Promise.all([daysOf(db, from, to), daysOf(db, prevFrom, prevTo)]);
  const billed = (rows: typeof current) =>
    rows.some((r) => r.feesBilledFen != null) ? rows.reduce((a, r) => a + (r.feesBilledFen ?? r.feesEstimatedFen), 0) : null;
  const sum = sumFigures(current);
  const byDay = new Map(current.map((r) => [r.day, r]));
  let series = days.map((d) => {
    const r = byDay.get(d);
    return { label: d, grossFen: r?.grossFen ?? 0, paidCount: r?.paidCount ?? 0, refundFen: r?.refundFen ?? 0, createdCount: r?.createdCount ?? 0 };
  });
  if (days.length === 1) {
    const start = dayStart(from);
    const hours = await db
      .select()
      .from(statsHourly)
      .where(and(gte(statsHourly.bucketStart, start), lt(statsHourly.bucketStart, new Date(start.getTime() + 24 * HOUR_MS))));
    const byHour = new Map(hours.map((h) => [new Date(h.bucketStart).getTime(), h]));
    series = Array.from({ length: 24 }, (_, i) => {
      const h = byHour.get(start.getTime() + i * HOUR_MS);
      return {
        label: `${String(i).padStart(2, '0')}:00`,
        grossFen: h?.grossFen ?? 0,
        paidCount: h?.paidCount ?? 0,
        refundFen: h?.refundFen ?? 0,
        createdCount: h?.createdCount ?? 0,
      };
    });
  }
  // Notify health now: the last notification the rollups saw, and the payments of the last hour.
  const [last] = await db
    .select({ at: statsHourly.lastNotifyAt })
    .from(statsHourly)
    .where(isNotNull(statsHourly.lastNotifyAt))
    .orderBy(desc(statsHourly.bucketStart))
    .limit(1);
  const recent = await db
    .select({ paid: sql<number>`coalesce(sum(${statsHourly.paidCount}), 0)::int` })
    .from(statsHourly)
    .where(gte(statsHourly.bucketStart, new Date(now.getTime() - 2 * HOUR_MS)));
  const [stuck] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(alerts)
    .where(and(ne(alerts.state, 'resolved'), sql`${alerts.kind} = 'watch.refund_stuck'`));
  return {
    range: { from, to },
    previousRange: { from: prevFrom, to: prevTo },
    totals: totals(sum, billed(current)),
    previous: totals(sumFigures(previous), billed(previous)),
    series,
    ...detail(sum),
    notifyNow: {
      lastNotificationAt: last?.at ? new Date(last.at).toISOString() : null,
      minutesSinceLast: last?.at ? Math.floor((now.getTime() - new Date(last.at).getTime()) / 60_000) : null,
      paymentsLastTwoHours: recent[0]?.paid ?? 0,
    },
    refundsStuck: stuck?.n ?? 0,
  };
}
export type DashboardStats = Awaited<ReturnType<typeof dashboardStats>>;
