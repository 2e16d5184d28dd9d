// The daily pipeline and manual runs (issue 16 §1, §3). Every morning at 10:15 Beijing the job reconciles
// yesterday and recomputes the two days before (the window of those days closes with the newer bills). A
// day whose bills are not in yet makes the job throw, so pg-boss retries it, until RECONCILIATION_RETRY_UNTIL_HOUR.
// The alert for missing bills is monitoring's (the bill_not_fetched watchlist, from 11:00 by default): one
// alert with a state, sent to business systems, resolved by itself once the bills are in — not a second one
// here. Manual runs go day by day and report progress.
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { reconciliationRuns } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import type { PaymentDeps } from '@/server/payments/deps';
import { QUEUE } from '@/server/queue/catalogue';
import { enqueue } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { addDays, beijingDateOf, daysBetween } from './days';
import { reconcileDate, type DayRun } from './reconcile';

/** The API serves bills of the last three months. */
export const MAX_RANGE_DAYS = 92;

export class BillsNotInYet extends Error {
  constructor(date: string, status: string) {
    super(`bills of ${date} are not in yet (${status}); retrying`);
    this.name = 'BillsNotInYet';
  }
}

/** The 10:15 job. Throws BillsNotInYet (a retry) until the retry hour; then returns, leaving the day pending. */
export async function runDaily(deps: PaymentDeps): Promise<DayRun[]> {
  const now = deps.clock.now();
  const yesterday = addDays(beijingDateOf(now), -1);
  const runs: DayRun[] = [];
  // Oldest first: a day's window closes with the next day's bill, imported by the newer day's run anyway.
  for (const date of [addDays(yesterday, -2), addDays(yesterday, -1), yesterday]) runs.push(await reconcileDate(deps, date));
  const last = runs.at(-1)!;
  if (last.status === 'pending' || last.status === 'failed') {
    const beijingHour = new Date(now.getTime() + 8 * 3600_000).getUTCHours();
    // Given up for today: tomorrow's run recomputes this day too.
    if (beijingHour < deps.env.RECONCILIATION_RETRY_UNTIL_HOUR) throw new BillsNotInYet(yesterday, last.status);
  }
  return runs;
}

/** Queues a manual run over [from, to] (≤ 92 days, none in the future), audited. */
export async function startRun(deps: Pick<PaymentDeps, 'db' | 'clock'>, actor: AuditActor, input: { from: string; to: string }): Promise<{ id: string }> {
  if (input.from > input.to) throw new AppError('BAD_REQUEST', 'The range starts after it ends');
  const today = beijingDateOf(deps.clock.now());
  if (input.to >= today) throw new AppError('BAD_REQUEST', 'Bills exist only for days that are over');
  if (input.from < addDays(today, -MAX_RANGE_DAYS)) throw new AppError('BAD_REQUEST', 'WeChat serves bills of the last three months only');
  const days = daysBetween(input.from, input.to);
  return deps.db.transaction(async (tx) => {
    const [run] = await tx
      .insert(reconciliationRuns)
      .values({ fromDate: input.from, toDate: input.to, daysTotal: days.length, createdBy: actor.email ?? actor.id ?? 'unknown' })
      .returning({ id: reconciliationRuns.id });
    await enqueue(tx, QUEUE.reconciliationRun, { version: 1, runId: run!.id }, { id: causeId('reconciliation-run', run!.id) });
    await appendAudit(tx, actor, {
      action: 'reconciliation.run',
      objectType: 'reconciliation_run',
      objectId: run!.id,
      after: { from: input.from, to: input.to },
    });
    return { id: run!.id };
  });
}

/** Executes a manual run, one day at a time, counting progress. A retried job resumes where it stopped. */
export async function executeRun(deps: PaymentDeps, runId: string): Promise<{ daysDone: number }> {
  const [run] = await deps.db.select().from(reconciliationRuns).where(eq(reconciliationRuns.id, runId));
  if (!run) throw new Error(`reconciliation run ${runId} not found`);
  if (run.status === 'done') return { daysDone: run.daysDone };
  const days = daysBetween(run.fromDate, run.toDate);
  await deps.db.update(reconciliationRuns).set({ status: 'running' }).where(eq(reconciliationRuns.id, runId));
  const results = [...(run.results as { date: string; status: string }[])];
  try {
    for (const date of days.slice(run.daysDone)) {
      const r = await reconcileDate(deps, date);
      results.push({ date, status: r.status });
      await deps.db.update(reconciliationRuns).set({ daysDone: results.length, results }).where(eq(reconciliationRuns.id, runId));
    }
  } catch (err) {
    await deps.db
      .update(reconciliationRuns)
      .set({ error: err instanceof Error ? err.message.slice(0, 500) : String(err) })
      .where(eq(reconciliationRuns.id, runId));
    throw err;
  }
  await deps.db.update(reconciliationRuns).set({ status: 'done', finishedAt: new Date(), error: null }).where(eq(reconciliationRuns.id, runId));
  return { daysDone: results.length };
}

export async function getRun(db: Db, runId: string) {
  const [run] = await db.select().from(reconciliationRuns).where(eq(reconciliationRuns.id, runId));
  return run ?? null;
}
