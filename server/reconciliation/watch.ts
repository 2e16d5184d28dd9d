// What the reconciliation watchlists look at. Bills: each of the last three days (the daily job's window)
// must have all its files settled (imported, or no statement on a quiet day) by the deadline hour of the
// next Beijing day. Discrepancies: the days that still have open ones. The rules themselves (keys,
// messages) are monitoring's (server/monitoring/watchlists.ts).
import { sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { addDays, beijingDateOf, dayBounds } from './days';
import { BILL_KINDS, FINAL_STATUSES } from './import';

/** How many past days the bill rule looks at: the daily job reconciles yesterday and the two days before. */
const BILL_DAYS = 3;

export interface LateBills {
  day: string;
  missing: string[];
  files: Record<string, string>;
}

/** The days among the last three whose deadline (`deadlineHour` Beijing, the next day) has passed with files not settled. */
export async function lateBills(tx: Tx, now: Date, deadlineHour: number): Promise<LateBills[]> {
  const yesterday = addDays(beijingDateOf(now), -1);
  const days = Array.from({ length: BILL_DAYS }, (_, i) => addDays(yesterday, -i)).filter(
    (d) => dayBounds(addDays(d, 1)).from.getTime() + deadlineHour * 3600_000 <= now.getTime(),
  );
  if (!days.length) return [];
  const rows = (await tx.execute(sql`
    select bill_date, kind, status from bill_files where bill_date in (${sql.join(
      days.map((d) => sql`${d}`),
      sql`, `,
    )})`)) as unknown as { bill_date: string; kind: string; status: string }[];
  return days.flatMap((day) => {
    const files: Record<string, string> = Object.fromEntries(rows.filter((r) => r.bill_date === day).map((r) => [r.kind, r.status]));
    const missing = BILL_KINDS.filter((k) => !(FINAL_STATUSES as readonly string[]).includes(files[k] ?? ''));
    return missing.length ? [{ day, missing, files }] : [];
  });
}

export interface OpenDiscrepancyDay {
  billDate: string;
  count: number;
  classes: string[];
}

export async function openDiscrepancyDays(tx: Tx): Promise<OpenDiscrepancyDay[]> {
  const rows = (await tx.execute(sql`
    select bill_date, count(*)::int as n, array_agg(distinct class order by class) as classes from discrepancies
    where state = 'open' group by bill_date order by bill_date`)) as unknown as { bill_date: string; n: number; classes: string[] }[];
  return rows.map((r) => ({ billDate: r.bill_date, count: r.n, classes: r.classes }));
}
