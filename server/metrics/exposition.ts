// /api/metrics in Prometheus text format (0.0.4). Everything is cluster-wide: figures derived from the
// database (rollups, queues, alerts) and each process's flushed HTTP histogram, summed over processes.
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { queueOverview } from '@/server/monitoring/queues';
import { BOUNDS_MS } from '@/server/stats/histogram';
import { mergeHists } from '@/server/stats/histogram';

type Row = Record<string, unknown>;
const q = async <T extends Row>(db: Db, query: ReturnType<typeof sql>) => (await db.execute(query)) as unknown as T[];

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

class Out {
  lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string) {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: Record<string, string> | string, value: number) {
    const text =
      typeof labels === 'string'
        ? labels
        : Object.entries(labels)
            .map(([k, v]) => `${k}="${esc(v)}"`)
            .join(',');
    this.lines.push(`${name}${text ? `{${text}}` : ''} ${Number.isFinite(value) ? value : 0}`);
  }
}

/** A stored ms histogram as a Prometheus histogram in seconds (cumulative buckets; the sum is estimated from bucket midpoints). */
function histogram(out: Out, name: string, help: string, hist: number[]) {
  out.family(name, 'histogram', help);
  let cumulative = 0;
  let sum = 0;
  BOUNDS_MS.forEach((le, i) => {
    cumulative += hist[i] ?? 0;
    sum += ((hist[i] ?? 0) * ((i === 0 ? 0 : BOUNDS_MS[i - 1]!) + le)) / 2 / 1000;
    out.sample(`${name}_bucket`, { le: String(le / 1000) }, cumulative);
  });
  const total = cumulative + (hist[BOUNDS_MS.length] ?? 0);
  sum += (hist[BOUNDS_MS.length] ?? 0) * (BOUNDS_MS[BOUNDS_MS.length - 1]! / 1000);
  out.sample(`${name}_bucket`, { le: '+Inf' }, total);
  out.sample(`${name}_sum`, '', Math.round(sum * 1000) / 1000);
  out.sample(`${name}_count`, '', total);
}

export async function renderMetrics(db: Db): Promise<string> {
  const out = new Out();
  const [totals] = await q(
    db,
    sql`select coalesce(sum(notify_count), 0) as received, coalesce(sum(notify_deliveries), 0) as deliveries,
          coalesce(sum(via_notify), 0) as notify, coalesce(sum(via_query), 0) as query, coalesce(sum(via_shopper), 0) as shopper,
          coalesce(sum(via_bill), 0) as bill, coalesce(sum(paid_count), 0) as paid, coalesce(sum(refund_count), 0) as refunds
        from stats_daily`,
  );
  const hists = await q<{ our: number[]; wechat: number[] }>(db, sql`select our_latency_hist as our, wechat_latency_hist as wechat from stats_daily`);
  out.family('scanpay_notify_received_total', 'counter', 'Verified WeChat notifications stored (one per notification id).');
  out.sample('scanpay_notify_received_total', '', Number(totals!.received));
  out.family('scanpay_notify_deliveries_total', 'counter', 'Deliveries of verified notifications, redeliveries included.');
  out.sample('scanpay_notify_deliveries_total', '', Number(totals!.deliveries));
  const rejects = await q<{ reason: string; n: number }>(
    db,
    sql`select reason, sum(count)::float8 as n from wechatpay_notification_reject_counts group by reason order by reason`,
  );
  out.family('scanpay_notify_rejected_total', 'counter', 'Notifications refused, by reason.');
  for (const r of rejects) out.sample('scanpay_notify_rejected_total', { reason: r.reason }, Number(r.n));
  out.family('scanpay_payments_total', 'counter', 'Payments, by the path that first learned them.');
  for (const via of ['notify', 'query', 'shopper', 'bill'] as const) out.sample('scanpay_payments_total', { via }, Number(totals![via]));
  out.family('scanpay_refunds_succeeded_total', 'counter', 'Refunds that succeeded.');
  out.sample('scanpay_refunds_succeeded_total', '', Number(totals!.refunds));
  histogram(out, 'scanpay_notify_to_paid_seconds', 'Notification received to payment committed.', mergeHists(hists.map((h) => h.our)));
  histogram(out, 'scanpay_wechat_notify_latency_seconds', "WeChat's success time to notification received.", mergeHists(hists.map((h) => h.wechat)));

  const queues = await queueOverview(db);
  const gauge = (name: string, help: string, pick: (x: (typeof queues)[number]) => number | null) => {
    out.family(name, 'gauge', help);
    for (const x of queues) out.sample(name, { queue: x.name }, pick(x) ?? 0);
  };
  gauge('scanpay_queue_ready', 'Jobs ready to run.', (x) => x.ready);
  gauge('scanpay_queue_deferred', 'Jobs waiting for their start time.', (x) => x.deferred);
  gauge('scanpay_queue_active', 'Jobs running.', (x) => x.active);
  gauge('scanpay_queue_oldest_ready_seconds', "Age of the queue's oldest ready job (0 when none).", (x) => x.oldestReadySeconds);
  gauge('scanpay_queue_failed_24h', 'Jobs that failed for good in the last 24 hours.', (x) => x.failed24h);
  const outcomes = await q<{ name: string; state: string; n: number }>(
    db,
    sql`select name, state::text as state, count(*)::int as n from pgboss.job where state in ('completed', 'failed', 'cancelled') and completed_on > now() - interval '1 hour' group by 1, 2 order by 1, 2`,
  );
  out.family('scanpay_job_outcomes_last_hour', 'gauge', 'Jobs settled in the last hour, by queue and outcome.');
  for (const o of outcomes) out.sample('scanpay_job_outcomes_last_hour', { queue: o.name, outcome: o.state }, o.n);

  const [alerts] = await q<{ open: number; unresolved: number }>(
    db,
    sql`select count(*) filter (where state = 'open')::int as open, count(*)::int as unresolved from alerts where state <> 'resolved'`,
  );
  out.family('scanpay_alerts_unresolved', 'gauge', 'Alerts not resolved yet, by state.');
  out.sample('scanpay_alerts_unresolved', { state: 'open' }, alerts?.open ?? 0);
  out.sample('scanpay_alerts_unresolved', { state: 'acknowledged' }, (alerts?.unresolved ?? 0) - (alerts?.open ?? 0));

  const http = await q<{ metric: string; labels: string; value: number }>(
    db,
    sql`select metric, labels, sum(value) as value from metrics_process_samples group by 1, 2 order by 1, 2`,
  );
  const [procs] = await q<{ n: number }>(
    db,
    sql`select count(distinct process)::int as n from metrics_process_samples where updated_at > now() - interval '1 minute'`,
  );
  out.family('scanpay_http_request_duration_seconds', 'histogram', 'HTTP request durations (all routes but the notify endpoint), every web process.');
  for (const suffix of ['_bucket', '_sum', '_count']) {
    for (const h of http.filter((x) => x.metric === `scanpay_http_request_duration_seconds${suffix}`)) out.sample(h.metric, h.labels, Number(h.value));
  }
  out.family('scanpay_processes_reporting', 'gauge', 'Processes that flushed their metrics in the last minute.');
  out.sample('scanpay_processes_reporting', '', procs?.n ?? 0);
  return `${out.lines.join('\n')}\n`;
}
