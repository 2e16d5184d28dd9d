// Outbound delivery health of every endpoint, for the dashboard: the same figures as an endpoint's own
// health (endpointHealth) for all of them in three grouped reads over the last 24 h of webhook_attempts
// (indexed by endpoint and time), so the dashboard's cost does not grow with the number of endpoints.
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';

export interface EndpointDeliveryHealth {
  id: string;
  url: string;
  disabled: boolean;
  /** First failure since the last success, when failing now. */
  failingSince: string | null;
  attempts24h: number;
  /** Share of the last 24 h attempts answered 2xx; null without attempts. */
  successRate24h: number | null;
  p95LatencyMs24h: number | null;
  lastError: { at: string; status: number | null; error: string | null } | null;
}

type Row = Record<string, unknown>;
const q = async <T extends Row>(db: DbOrTx, query: ReturnType<typeof sql>) => (await db.execute(query)) as unknown as T[];

export async function deliveryHealth(db: DbOrTx, now: Date = new Date()): Promise<EndpointDeliveryHealth[]> {
  const since = new Date(now.getTime() - 86_400_000).toISOString();
  const endpoints = await q<{ id: string; url: string; disabled_at: string | null; failing_since: string | null }>(
    db,
    sql`select id, url, disabled_at, failing_since from webhook_endpoints where deleted_at is null order by created_at`,
  );
  if (!endpoints.length) return [];
  const stats = await q<{ endpoint_id: string; n: number; ok: number; p95: number | null }>(
    db,
    sql`select endpoint_id, count(*)::int as n, count(*) filter (where response_status between 200 and 299)::int as ok,
               (percentile_cont(0.95) within group (order by latency_ms))::int as p95
        from webhook_attempts where created_at > ${since}::timestamptz and created_at <= ${now.toISOString()}::timestamptz group by endpoint_id`,
  );
  // The latest failed attempt of each endpoint, however old (a failure last week still explains a silence).
  const errors = await q<{ endpoint_id: string; created_at: string; response_status: number | null; error: string | null }>(
    db,
    sql`select e.id as endpoint_id, a.created_at, a.response_status, a.error from webhook_endpoints e
        cross join lateral (select created_at, response_status, error from webhook_attempts w
          where w.endpoint_id = e.id and (w.response_status is null or w.response_status not between 200 and 299)
          order by w.id desc limit 1) a
        where e.deleted_at is null`,
  );
  const byId = new Map(stats.map((s) => [s.endpoint_id, s]));
  const lastById = new Map(errors.map((e) => [e.endpoint_id, e]));
  return endpoints.map((e) => {
    const s = byId.get(e.id);
    const last = lastById.get(e.id);
    return {
      id: e.id,
      url: e.url,
      disabled: e.disabled_at !== null,
      failingSince: e.failing_since ? new Date(e.failing_since).toISOString() : null,
      attempts24h: s?.n ?? 0,
      successRate24h: s?.n ? s.ok / s.n : null,
      p95LatencyMs24h: s?.p95 ?? null,
      lastError: last ? { at: new Date(last.created_at).toISOString(), status: last.response_status, error: last.error } : null,
    };
  });
}
