// The watchlists' thresholds: defaults here, overrides saved from the console (monitoring_settings), every
// change audited. Read at each evaluation, so a change takes effect within a minute on every worker.
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, DbOrTx } from '@/db/client';
import { monitoringSettings } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';

export const Thresholds = z.object({
  /** A refund still requested/processing after this many minutes. */
  refundProcessingMinutes: z.number().int().min(1).max(1440),
  /** An inbox row (verified notification) not processed after this many minutes. */
  inboxUnprocessedMinutes: z.number().int().min(1).max(1440),
  /** No notification for this many minutes while payments are being made. */
  notifySilenceMinutes: z.number().int().min(1).max(1440),
  /** The oldest ready job of a queue has waited longer than this. */
  oldestReadyMinutes: z.number().int().min(1).max(1440),
  /** Share of a queue's job runs failing over the last hour, in percent... */
  failureRatePercent: z.number().min(1).max(100),
  /** ...out of at least this many runs (a single failure out of two is not a rate). */
  failureRateMinRuns: z.number().int().min(1).max(100_000),
  /** A webhook endpoint (enabled) has failed every attempt for this many minutes. */
  endpointFailingMinutes: z.number().int().min(1).max(10_080),
  /** Beijing hour by which yesterday's bills must be in (WeChat has them by 10:00; our job fetches at 10:15). */
  billDeadlineHour: z.number().int().min(0).max(23),
});
export type Thresholds = z.infer<typeof Thresholds>;

export const DEFAULT_THRESHOLDS: Thresholds = {
  refundProcessingMinutes: 5,
  inboxUnprocessedMinutes: 2,
  notifySilenceMinutes: 10,
  oldestReadyMinutes: 5,
  failureRatePercent: 20,
  failureRateMinRuns: 20,
  endpointFailingMinutes: 30,
  billDeadlineHour: 11,
};

const KEY = 'monitoring.thresholds';

export async function getThresholds(db: DbOrTx): Promise<Thresholds> {
  const [row] = await db.select().from(monitoringSettings).where(eq(monitoringSettings.key, KEY));
  const saved = Thresholds.partial().safeParse(row?.value ?? {});
  return { ...DEFAULT_THRESHOLDS, ...(saved.success ? saved.data : {}) };
}

export async function setThresholds(db: Db, actor: AuditActor, next: Thresholds, reason: string | null): Promise<Thresholds> {
  const value = Thresholds.parse(next);
  return db.transaction(async (tx) => {
    const before = await getThresholds(tx);
    await tx
      .insert(monitoringSettings)
      .values({ key: KEY, value, updatedBy: actor.id })
      .onConflictDoUpdate({ target: monitoringSettings.key, set: { value, updatedBy: actor.id, updatedAt: new Date() } });
    await appendAudit(tx, actor, { action: 'monitoring.thresholds.update', objectType: 'settings', objectId: KEY, before, after: value, reason });
    return value;
  });
}
