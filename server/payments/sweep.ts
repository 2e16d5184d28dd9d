// The sweeper (cron, one at a time): finds anything the happy path left behind and re-enqueues the job
// that finishes it. It decides from the tables' state, not from pg-boss's, so it also recovers work
// whose job died (dead-lettered, deleted, or never enqueued because a process crashed mid-way).
import { and, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { orders, paymentAttempts, rateLimits, wechatpayNotifications } from '@/db/schema';
import { QUERY_SCHEDULE_SECONDS } from './compensation';
import { OPEN_ATTEMPT_STATUSES } from '@/server/orders/state';
import { pruneRejects } from './notification-rejects';
import { enqueue } from '@/server/queue/enqueue';
import { QUEUE } from '@/server/queue/catalogue';
import { causeId } from '@/server/queue/ids';

export interface SweepReport {
  abandoned: number;
  notifications: number;
  expiries: number;
  queries: number;
  strays: number;
}

const LIMIT = 500;

export async function sweep(db: Db, opts: { now?: Date; graceSeconds?: number; renewWindowMs?: number } = {}): Promise<SweepReport> {
  const now = opts.now ?? new Date();
  const grace = (opts.graceSeconds ?? 30) * 1000;
  const bucket = Math.floor(now.getTime() / 60_000); // one re-enqueue per item per minute at most
  const before = new Date(now.getTime() - grace);
  const open = inArray(paymentAttempts.status, [...OPEN_ATTEMPT_STATUSES]);

  return db.transaction(async (tx) => {
    const stuckInbox = await tx
      .select({ id: wechatpayNotifications.id, notificationId: wechatpayNotifications.notificationId })
      .from(wechatpayNotifications)
      .where(and(isNull(wechatpayNotifications.processedAt), lt(wechatpayNotifications.receivedAt, before)))
      .limit(LIMIT);
    for (const row of stuckInbox) {
      await enqueue(tx, QUEUE.processNotification, { version: 1, inboxId: row.id }, { id: causeId('notification', row.notificationId, 'sweep', bucket) });
    }

    const overdue = await tx
      .select({ id: paymentAttempts.id })
      .from(paymentAttempts)
      .where(and(open, lt(paymentAttempts.expiresAt, before)))
      .limit(LIMIT);
    for (const a of overdue) await enqueue(tx, QUEUE.expireAttempt, { version: 1, attemptId: a.id }, { id: causeId('expire', a.id, 'sweep', bucket) });

    // Open attempts nobody has asked WeChat about for a while: their query chain died.
    const quietSince = new Date(now.getTime() - 5 * 60_000);
    const quiet = await tx
      .select({ id: paymentAttempts.id })
      .from(paymentAttempts)
      .where(
        and(
          open,
          gt(paymentAttempts.expiresAt, now),
          or(lt(paymentAttempts.lastCheckedAt, quietSince), and(isNull(paymentAttempts.lastCheckedAt), lt(paymentAttempts.createdAt, quietSince))),
        ),
      )
      .limit(LIMIT);
    for (const a of quiet) {
      await enqueue(
        tx,
        QUEUE.queryAttempt,
        { version: 1, attemptId: a.id, step: QUERY_SCHEDULE_SECONDS.length },
        { id: causeId('query', a.id, 'sweep', bucket) },
      );
    }

    // Open attempts of orders that are already decided: close them at WeChat so nobody pays twice.
    const strays = await tx
      .select({ id: paymentAttempts.id })
      .from(paymentAttempts)
      .innerJoin(orders, eq(orders.id, paymentAttempts.orderId))
      .where(and(open, sql`${orders.status} <> 'awaiting_payment'`))
      .limit(LIMIT);
    for (const a of strays) {
      await enqueue(tx, QUEUE.expireAttempt, { version: 1, attemptId: a.id, force: true }, { id: causeId('expire', a.id, 'stray', bucket) });
    }

    // Unpaid orders whose last QR code expired longer ago than the renew window, with no new code asked for.
    const windowMs = opts.renewWindowMs ?? 30 * 60_000;
    const abandoned = await tx.execute<{ id: string }>(sql`
      select o.id from orders o
      where o.status = 'awaiting_payment'
        and not exists (select 1 from payment_attempts a where a.order_id = o.id and a.status in ('created', 'awaiting_payment'))
        and (select max(a.expires_at) from payment_attempts a where a.order_id = o.id) < ${new Date(before.getTime() - windowMs).toISOString()}::timestamptz
      limit ${LIMIT}`);
    for (const o of abandoned) await enqueue(tx, QUEUE.closeOrder, { version: 1, orderId: o.id }, { id: causeId('close-order', o.id, 'sweep', bucket) });

    // Rate-limit windows long past are just clutter; reject counts are kept for a month.
    await tx.delete(rateLimits).where(lt(rateLimits.windowStart, new Date(now.getTime() - 24 * 3600_000)));
    await pruneRejects(tx, now);

    return {
      abandoned: abandoned.length,
      notifications: stuckInbox.length,
      expiries: overdue.length,
      queries: quiet.length,
      strays: strays.length,
    };
  });
}
