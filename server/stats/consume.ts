// What the stats consumer of the outbox does with a batch of event ids: every hour the events' orders
// touch (created, paid, late-paid attempts, refunds) is recomputed. Nothing is added up from the events
// themselves, so a replayed event, or one also covered by the cron, changes nothing.
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { beijingDay, HOUR_MS, hourStart } from './time';
import { recomputeHours } from './rollup';

/** The hours whose figures the events' orders appear in. */
export async function hoursOfEvents(db: Db, eventIds: readonly number[]): Promise<Date[]> {
  if (eventIds.length === 0) return [];
  const found = (await db.execute(sql`
    with o as (
      select distinct order_id as id from outbox_events where id = any(${`{${eventIds.join(',')}}`}::bigint[]) and order_id is not null
    )
    select date_trunc('hour', t) as h from (
      select orders.created_at as t from orders join o using (id)
      union all select orders.paid_at from orders join o using (id)
      union all select a.paid_at from payment_attempts a join o on a.order_id = o.id
      union all select r.updated_at from refunds r join o on r.order_id = o.id where r.status = 'succeeded'
    ) x where t is not null group by 1`)) as unknown as { h: string | Date }[];
  return found.map((r) => new Date(r.h));
}

/** The stats.rollup job: recompute what the events touched. Returns the hours recomputed. */
export async function consumeEvents(db: Db, eventIds: readonly number[]): Promise<number> {
  return recomputeHours(db, await hoursOfEvents(db, eventIds));
}

/** The minute cron: the current and the previous hour (orders created and notifications have no event). */
export async function refreshRecent(db: Db, now: Date): Promise<number> {
  const h = hourStart(now);
  return recomputeHours(db, [new Date(h.getTime() - HOUR_MS), h]);
}

/** The nightly cron: today and the two days before, so late changes (refunds, bills) are folded in. */
export function nightlyRange(now: Date): { from: string; to: string } {
  const to = beijingDay(now);
  return { from: beijingDay(new Date(now.getTime() - 2 * 24 * HOUR_MS)), to };
}
