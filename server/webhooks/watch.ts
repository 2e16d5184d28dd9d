// What the webhook watchlists look at. Overdue deliveries: due (or holding a lease that ran out) for longer
// than a threshold on an enabled endpoint, so no worker is claiming them. Failing endpoints: enabled endpoints that have failed every attempt since a
// time (failing_since is set by the first failure after a success and cleared by the next success). An
// endpoint disabled after days of failures has an alert of its own (deliveries.ts), so disabled and
// deleted ones are left out. The rule itself (key, message) is monitoring's (server/monitoring/watchlists.ts).
import { sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';

export interface FailingEndpoint {
  id: string;
  url: string;
  failingSince: Date;
  lastStatus: number | null;
  lastError: string | null;
}

export async function failingEndpoints(tx: Tx, failingBefore: Date): Promise<FailingEndpoint[]> {
  const rows = (await tx.execute(sql`
    select e.id, e.url, e.failing_since, a.response_status, a.error
    from webhook_endpoints e
    left join lateral (select response_status, error from webhook_attempts w where w.endpoint_id = e.id order by w.id desc limit 1) a on true
    where e.deleted_at is null and e.disabled_at is null and e.failing_since < ${failingBefore.toISOString()}::timestamptz
    order by e.failing_since`)) as unknown as { id: string; url: string; failing_since: string; response_status: number | null; error: string | null }[];
  return rows.map((r) => ({ id: r.id, url: r.url, failingSince: new Date(r.failing_since), lastStatus: r.response_status, lastError: r.error }));
}

export interface OverdueDeliveries {
  count: number;
  oldestDueAt: Date;
}

/** Pending deliveries of enabled endpoints due before `dueBefore` and still not attempted (null: none). */
export async function overdueDeliveries(tx: Tx, dueBefore: Date): Promise<OverdueDeliveries | null> {
  const [row] = (await tx.execute(sql`
    select count(*)::int as n, min(d.next_attempt_at) as oldest from webhook_deliveries d
    join webhook_endpoints e on e.id = d.endpoint_id and e.deleted_at is null and e.disabled_at is null
    where d.status = 'pending' and d.next_attempt_at < ${dueBefore.toISOString()}::timestamptz`)) as unknown as { n: number; oldest: string | null }[];
  return row && row.n > 0 ? { count: row.n, oldestDueAt: new Date(row.oldest!) } : null;
}
