// The reconciliation watchlists. Bills: each of the last three days (the daily job's window) must have all
// its files settled (imported, or no statement on a quiet day) by the deadline hour of the next Beijing day;
// a file missing, not ready or failed raises `bill_not_fetched:<day>`. Discrepancies: a day with open ones
// raises `reconciliation_open_discrepancies:<day>` until a repair or a person settles every one of them.
import { sql } from 'drizzle-orm';
import type { WatchRule } from '@/server/monitoring/watchlists';
import { addDays, beijingDateOf, dayBounds } from './days';
import { BILL_KINDS, FINAL_STATUSES } from './import';

/** How many past days the bill rule looks at: the daily job reconciles yesterday and the two days before. */
const BILL_DAYS = 3;

export const billNotFetched: WatchRule = {
  name: 'bill_not_fetched',
  async find(tx, ctx) {
    const yesterday = addDays(beijingDateOf(ctx.now), -1);
    const days = Array.from({ length: BILL_DAYS }, (_, i) => addDays(yesterday, -i)).filter(
      (d) => dayBounds(addDays(d, 1)).from.getTime() + ctx.thresholds.billDeadlineHour * 3600_000 <= ctx.now.getTime(),
    );
    if (!days.length) return [];
    const rows = (await tx.execute(sql`
      select bill_date, kind, status from bill_files where bill_date in (${sql.join(
        days.map((d) => sql`${d}`),
        sql`, `,
      )})`)) as unknown as { bill_date: string; kind: string; status: string }[];
    return days.flatMap((day) => {
      const files = Object.fromEntries(rows.filter((r) => r.bill_date === day).map((r) => [r.kind, r.status]));
      const missing = BILL_KINDS.filter((k) => !(FINAL_STATUSES as readonly string[]).includes(files[k] ?? ''));
      if (!missing.length) return [];
      const hour = String(ctx.thresholds.billDeadlineHour).padStart(2, '0');
      return [
        {
          key: `bill_not_fetched:${day}`,
          kind: 'watch.bill_not_fetched',
          message: `The bills of ${day} are not in by ${hour}:00 Beijing time (${missing.map((k) => `${k}: ${files[k] ?? 'not fetched'}`).join(', ')})`,
          data: { billDate: day, missing, files },
        },
      ];
    });
  },
};

export const openDiscrepancies: WatchRule = {
  name: 'reconciliation_open_discrepancies',
  async find(tx) {
    const rows = (await tx.execute(sql`
      select bill_date, count(*)::int as n, array_agg(distinct class order by class) as classes from discrepancies
      where state = 'open' group by bill_date order by bill_date`)) as unknown as { bill_date: string; n: number; classes: string[] }[];
    return rows.map((r) => ({
      key: `reconciliation_open_discrepancies:${r.bill_date}`,
      kind: 'watch.reconciliation_open_discrepancies',
      message: `${r.n} open discrepancies on ${r.bill_date} (${r.classes.join(', ')}): decide them in reconciliation`,
      data: { billDate: r.bill_date, count: r.n, classes: r.classes },
    }));
  },
};
