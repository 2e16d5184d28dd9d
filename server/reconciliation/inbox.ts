// What the console reads: the discrepancy inbox (filters by class, day, state; automatic repairs included)
// and the month of settlement reports.
import { and, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { discrepancies, reconciliationDays } from '@/db/schema';
import { billDateSchema } from './days';
import { DISCREPANCY_CLASSES, DISCREPANCY_STATES } from './discrepancies';
import type { DayReport } from './report';

export const InboxFilterSchema = z.object({
  class: z.enum(DISCREPANCY_CLASSES).optional(),
  state: z.enum(DISCREPANCY_STATES).optional(),
  date: billDateSchema.optional(),
  limit: z.number().int().min(1).max(200).default(100),
});
export type InboxFilter = z.input<typeof InboxFilterSchema>;

export async function listDiscrepancies(db: DbOrTx, input: InboxFilter) {
  const f = InboxFilterSchema.parse(input);
  const where: SQL[] = [];
  if (f.class) where.push(eq(discrepancies.class, f.class));
  if (f.state) where.push(eq(discrepancies.state, f.state));
  if (f.date) where.push(eq(discrepancies.billDate, f.date));
  return db
    .select()
    .from(discrepancies)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(discrepancies.billDate), desc(discrepancies.createdAt))
    .limit(f.limit);
}

export const MonthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month is YYYY-MM');

/** Every reconciled day of a month with its three columns' key figures (the month view's chart and table). */
export async function monthReport(db: DbOrTx, month: string) {
  const rows = await db
    .select()
    .from(reconciliationDays)
    .where(and(gte(reconciliationDays.billDate, `${month}-01`), lte(reconciliationDays.billDate, `${month}-31`)))
    .orderBy(reconciliationDays.billDate);
  return rows.map((d) => {
    const r = d.report as DayReport | null;
    return {
      date: d.billDate,
      status: d.status,
      matchedPercent: r?.matchedPercent ?? null,
      ledgerGrossFen: r?.ledger.grossFen ?? 0,
      tradeGrossFen: r?.trade.grossFen ?? 0,
      tradeNetFen: r?.trade.netFen ?? 0,
      feesFen: r?.trade.feesFen ?? 0,
      refundsFen: r?.trade.refundsFen ?? 0,
      fundIncomeFen: r?.fund.find((a) => a.account === 'BASIC')?.incomeFen ?? 0,
      open: Object.values(r?.openByClass ?? {}).reduce((a, b) => a + b, 0),
    };
  });
}

/** The month as CSV (UTF-8 with BOM for Excel), amounts in yuan. */
export function monthCsv(rows: Awaited<ReturnType<typeof monthReport>>): string {
  const yuan = (fen: number) => (fen / 100).toFixed(2);
  const header = ['date', 'status', 'matched_percent', 'ledger_gross', 'trade_gross', 'refunds', 'fees', 'net', 'fund_basic_income', 'open_discrepancies'];
  const lines = rows.map((r) =>
    [
      r.date,
      r.status,
      r.matchedPercent ?? '',
      yuan(r.ledgerGrossFen),
      yuan(r.tradeGrossFen),
      yuan(r.refundsFen),
      yuan(r.feesFen),
      yuan(r.tradeNetFen),
      yuan(r.fundIncomeFen),
      r.open,
    ].join(','),
  );
  return `\uFEFF${[header.join(','), ...lines].join('\r\n')}\r\n`;
}
