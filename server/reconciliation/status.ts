// Reconciliation status for the dashboard: the latest reconciled days (status, matched share, how many of
// their discrepancies are still open) and the open discrepancies of all days. Reads reconciliation_days and
// the discrepancies' state index only.
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';

export interface ReconciliationDayStatus {
  billDate: string;
  /** pending · provisional · reconciled · failed */
  status: string;
  matchedPercent: number | null;
  openDiscrepancies: number;
  computedAt: string;
}

export async function reconciliationStatus(db: DbOrTx, opts: { days?: number } = {}): Promise<{ days: ReconciliationDayStatus[]; openDiscrepancies: number }> {
  const limit = Math.min(Math.max(opts.days ?? 7, 1), 92);
  const days = (await db.execute(sql`
    select d.bill_date, d.status, d.matched_percent, d.computed_at,
           (select count(*)::int from discrepancies x where x.bill_date = d.bill_date and x.state = 'open') as open
    from reconciliation_days d order by d.bill_date desc limit ${limit}`)) as unknown as {
    bill_date: string;
    status: string;
    matched_percent: string | null;
    computed_at: string;
    open: number;
  }[];
  const [total] = (await db.execute(sql`select count(*)::int as n from discrepancies where state = 'open'`)) as unknown as { n: number }[];
  return {
    days: days.map((d) => ({
      billDate: d.bill_date,
      status: d.status,
      matchedPercent: d.matched_percent === null ? null : Number(d.matched_percent),
      openDiscrepancies: d.open,
      computedAt: new Date(d.computed_at).toISOString(),
    })),
    openDiscrepancies: total?.n ?? 0,
  };
}
