// Daily figures for the dashboard and for GET /api/v1/stats/daily: read from stats_daily only, one entry
// per Beijing date of the range (zeros for a day with nothing), fees billed when the bill is in.
import { z } from 'zod';
import { and, gte, lte } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { statsDaily } from '@/db/schema';
import { AppError } from '@/server/errors';
import { daysBetween } from './time';

/** The longest range one request may ask for: a year, leap day included. */
export const MAX_DAILY_RANGE_DAYS = 366;

const DAY_MS = 86_400_000;

/** What is wrong with a range of two valid dates, in words for the caller; null when it is fine. */
export function dailyRangeProblem(from: string, to: string): string | null {
  if (from > to) return `from (${from}) must not be after to (${to})`;
  // Arithmetic, not daysBetween: a range of centuries must be refused without building it first.
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (days > MAX_DAILY_RANGE_DAYS) return `from and to span ${days} days: at most ${MAX_DAILY_RANGE_DAYS} days per request`;
  return null;
}

const calendarDate = z.iso.date('must be a calendar date, YYYY-MM-DD (Beijing)');

export const DailyRange = z.object({ from: calendarDate, to: calendarDate }).superRefine((r, ctx) => {
  const problem = dailyRangeProblem(r.from, r.to);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['to'] });
});

export interface DailyStat {
  date: string;
  paidCount: number;
  grossFen: number;
  refundCount: number;
  refundFen: number;
  /** Gross − refunds − fees. */
  netFen: number;
  /** Billed by WeChat when the day's bill is imported, else estimated (0.6 %). */
  feesFen: number;
  learnedVia: { notify: number; query: number; shopper: number; bill: number };
}

export async function dailyStats(db: DbOrTx, from: string, to: string): Promise<DailyStat[]> {
  const range = DailyRange.safeParse({ from, to });
  if (!range.success) throw new AppError('BAD_REQUEST', `Invalid range: ${range.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const rows = await db
    .select()
    .from(statsDaily)
    .where(and(gte(statsDaily.day, from), lte(statsDaily.day, to)));
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return daysBetween(from, to).map((date) => {
    const r = byDay.get(date);
    const grossFen = r?.grossFen ?? 0;
    const refundFen = r?.refundFen ?? 0;
    const feesFen = r?.feesBilledFen ?? r?.feesEstimatedFen ?? 0;
    return {
      date,
      paidCount: r?.paidCount ?? 0,
      grossFen,
      refundCount: r?.refundCount ?? 0,
      refundFen,
      netFen: grossFen - refundFen - feesFen,
      feesFen,
      learnedVia: { notify: r?.viaNotify ?? 0, query: r?.viaQuery ?? 0, shopper: r?.viaShopper ?? 0, bill: r?.viaBill ?? 0 },
    };
  });
}
