// One run over a date: import the bills of the day and of the next (the window), match, compute the report,
// record the day. The daily job runs it for yesterday and recomputes the two days before.
import { sql } from 'drizzle-orm';
import { reconciliationDays } from '@/db/schema';
import type { PaymentDeps } from '@/server/payments/deps';
import { addDays } from './days';
import { FINAL_STATUSES, importDay, type FileOutcome } from './import';
import { matchDay } from './match';
import { computeReport } from './report';

export interface DayRun {
  date: string;
  status: string;
  files: FileOutcome[];
  findings: number;
  repairs: number;
  matchedPercent: number | null;
}

const isFinal = (o: FileOutcome) => (FINAL_STATUSES as readonly string[]).includes(o.status);

/** Reconciles `date`. Never throws for a bill's own problem: the day's status says it. */
export async function reconcileDate(deps: PaymentDeps, date: string): Promise<DayRun> {
  const files = await importDay(deps, date, { skipFinal: true });
  // The next day's bill closes the window (WeChat answers "not ready" until it exists: a status, not an error).
  await importDay(deps, addDays(date, 1), { skipFinal: true });
  const matched = await matchDay(deps, date);
  const tradeFinal = files.filter((f) => f.kind === 'trade_ALL').every(isFinal);
  const report = tradeFinal ? await computeReport(deps.db, date, deps.env.RECONCILIATION_FEE_RATE_PPM) : null;
  const status = !tradeFinal ? (files.some((f) => f.status === 'unparseable' || f.status === 'failed') ? 'failed' : 'pending') : matched.status;
  const error =
    files
      .filter((f) => f.error)
      .map((f) => `${f.kind}: ${f.error}`)
      .join('; ') || null;
  await deps.db
    .insert(reconciliationDays)
    .values({ billDate: date, status, matchedPercent: report ? String(report.matchedPercent) : null, report, error, runs: 1 })
    .onConflictDoUpdate({
      target: reconciliationDays.billDate,
      set: {
        status,
        matchedPercent: report ? String(report.matchedPercent) : null,
        report,
        error,
        runs: sql`${reconciliationDays.runs} + 1`,
        computedAt: new Date(),
      },
    });
  return { date, status, files, findings: matched.findings, repairs: matched.repairs, matchedPercent: report?.matchedPercent ?? null };
}
