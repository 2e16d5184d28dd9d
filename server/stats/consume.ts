// What the stats consumer of the outbox does with a batch of event ids: every slice the events' orders
// touch (created, paid, late-paid attempts, refunds) is recomputed, then its hour and day refolded.
// Nothing is added up from the events themselves, so a replayed event, or one also covered by a cron,
// changes nothing.
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { recomputeSlices, sliceOf } from './rollup';
import { beijingDay, HOUR_MS, SLICE_MS, sliceStart } from './time';

/** The slices whose figures the events' orders appear in. */
export async function slicesOfEvents(db: Db, eventIds: readonly number[]): Promise<Date[]> {
  if (eventIds.length === 0) return [];
  const found = (await db.execute(sql`
    with o as (
      select distinct order_id as id from outbox_events where id = any(${`{${eventIds.join(',')}}`}::bigint[]) and order_id is not null
    )
    select ${sliceOf('t')} as s from (
      select orders.created_at as t from orders join o using (id)
      union all select orders.paid_at from orders join o using (id)
      union all select a.paid_at from payment_attempts a join o on a.order_id = o.id
      union all select r.updated_at from refunds r join o on r.order_id = o.id where r.status = 'succeeded'
    ) x where t is not null group by 1`)) as unknown as { s: string | Date }[];
  return found.map((r) => new Date(r.s));
}

/** The stats.rollup job: recompute what the events touched. Returns the slices recomputed. */
export async function consumeEvents(db: Db, eventIds: readonly number[]): Promise<number> {
  return recomputeSlices(db, await slicesOfEvents(db, eventIds));
}

/**
 * How far back the minute cron recomputes. Orders created, inbox notifications and rejects have no outbox
 * event, so this cron is what counts them. A notification counts in the slice it was received in, but its
 * processed_at (our latency histogram) is written only once the worker has handled it — well under a
 * second normally, minutes when the worker is behind. Ten minutes covers a backlog the queue alerts would already be reporting;
 * anything later is picked up by the nightly recompute.
 */
export const REFRESH_WINDOW_MS = 10 * 60_000;

/** The minute cron: the slices of the last REFRESH_WINDOW_MS, the current one included. */
export async function refreshRecent(db: Db, now: Date): Promise<number> {
  const slices: Date[] = [];
  for (let t = sliceStart(new Date(now.getTime() - REFRESH_WINDOW_MS)).getTime(); t <= now.getTime(); t += SLICE_MS) slices.push(new Date(t));
  return recomputeSlices(db, slices);
}

/** The nightly cron: today and the two days before, so late changes (refunds, bills) are folded in. */
export function nightlyRange(now: Date): { from: string; to: string } {
  const to = beijingDay(now);
  return { from: beijingDay(new Date(now.getTime() - 2 * 24 * HOUR_MS)), to };
}
