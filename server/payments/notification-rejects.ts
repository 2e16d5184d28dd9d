// Notifications we refused (bad signature, stale timestamp, undecryptable, wrong content type), counted
// per reason and minute: evidence for the merchant and the dashboard, never acted on. One row per reason
// and minute whatever the traffic, so a flood of forged requests writes a bounded number of rows; the
// sweeper prunes old minutes.
import { lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { wechatpayNotificationRejects } from '@/db/schema';

export const REJECT_RETENTION_DAYS = 30;

/** Best effort: a database hiccup must not turn a 4xx into a 5xx. */
export async function countReject(db: DbOrTx, reason: string, serial: string | null): Promise<void> {
  await db
    .insert(wechatpayNotificationRejects)
    .values({ minute: sql`date_trunc('minute', now())`, reason: reason.slice(0, 64), lastSerial: serial?.slice(0, 64) ?? null, count: 1 })
    .onConflictDoUpdate({
      target: [wechatpayNotificationRejects.minute, wechatpayNotificationRejects.reason],
      set: { count: sql`${wechatpayNotificationRejects.count} + 1`, lastSerial: sql`excluded.last_serial` },
    })
    .catch(() => {});
}

export async function pruneRejects(db: DbOrTx, now: Date): Promise<void> {
  await db.delete(wechatpayNotificationRejects).where(lt(wechatpayNotificationRejects.minute, new Date(now.getTime() - REJECT_RETENTION_DAYS * 86_400_000)));
}
