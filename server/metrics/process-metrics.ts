// This process's HTTP latency histogram, kept on globalThis: the HTTP server (scripts/serve.ts, loaded by
// tsx) and the Next bundle (which flushes and serves /api/metrics) are separate module instances in one
// process. Flushed to metrics_process_samples so a scrape of any web process sees the whole cluster.
import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';

export const HTTP_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Series {
  buckets: number[];
  count: number;
  sum: number;
}
interface Registry {
  id: string;
  http: Map<string, Series>;
}

function registry(): Registry {
  const g = globalThis as unknown as { __scanpayMetrics?: Registry };
  g.__scanpayMetrics ??= { id: `${hostname()}:${process.pid}:${Date.now()}`, http: new Map() };
  return g.__scanpayMetrics;
}

/** Called by the HTTP server when a (non-notify) response finishes. */
export function observeHttp(method: string, status: number, seconds: number): void {
  const key = `method="${/^[A-Z]{3,7}$/.test(method) ? method : 'OTHER'}",status="${Math.floor(status / 100)}xx"`;
  const http = registry().http;
  let s = http.get(key);
  if (!s) {
    s = { buckets: new Array(HTTP_BUCKETS_S.length).fill(0), count: 0, sum: 0 };
    http.set(key, s);
  }
  for (let i = 0; i < HTTP_BUCKETS_S.length; i++) if (seconds <= HTTP_BUCKETS_S[i]!) s.buckets[i]!++;
  s.count++;
  s.sum += seconds;
}

/** Writes this process's current values (absolute, so a lost flush loses nothing). */
export async function flushProcessMetrics(db: Db): Promise<void> {
  const r = registry();
  const rows: { metric: string; labels: string; value: number }[] = [];
  for (const [labels, s] of r.http) {
    for (let i = 0; i < HTTP_BUCKETS_S.length; i++) {
      rows.push({ metric: 'scanpay_http_request_duration_seconds_bucket', labels: `${labels},le="${HTTP_BUCKETS_S[i]}"`, value: s.buckets[i]! });
    }
    rows.push({ metric: 'scanpay_http_request_duration_seconds_bucket', labels: `${labels},le="+Inf"`, value: s.count });
    rows.push({ metric: 'scanpay_http_request_duration_seconds_count', labels, value: s.count });
    rows.push({ metric: 'scanpay_http_request_duration_seconds_sum', labels, value: s.sum });
  }
  if (rows.length === 0) return;
  await db.execute(sql`
    insert into metrics_process_samples (process, metric, labels, value, updated_at)
    select ${r.id}, x.metric, x.labels, x.value, now() from json_to_recordset(${JSON.stringify(rows)}::json) as x(metric text, labels text, value float8)
    on conflict (process, metric, labels) do update set value = excluded.value, updated_at = now()`);
}

/** Flushes every `intervalMs` (unref'd: never holds the process open); prunes rows a day old. */
export function startMetricsFlush(db: Db, intervalMs = 10_000): () => void {
  const g = globalThis as unknown as { __scanpayMetricsFlush?: NodeJS.Timeout };
  if (g.__scanpayMetricsFlush) return () => {};
  const timer = setInterval(() => {
    flushProcessMetrics(db)
      .then(() => db.execute(sql`delete from metrics_process_samples where updated_at < now() - interval '1 day'`))
      .catch(() => {
        // The next flush writes the same absolute values.
      });
  }, intervalMs);
  timer.unref();
  g.__scanpayMetricsFlush = timer;
  return () => {
    clearInterval(timer);
    g.__scanpayMetricsFlush = undefined;
  };
}
