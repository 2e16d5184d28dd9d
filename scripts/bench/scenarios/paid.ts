// Notify → paid: notifications sent open-loop at 10, 100 and 500 per second; for each order a shopper's
// `checkout.onStatus` SSE stream is open (from another process); latency is the time from the
// notification's 2xx to the `paid` view reaching that stream — inbox → NOTIFY → worker → state machine →
// pg_notify → LISTEN in the web process → SSE.
import { sizes, NODE } from '../lib/config';
import { cpuPerItem, cpuSnapshot, runLoad, waitForDrain, warmUp, type CpuSnapshot, type Ctx } from '../lib/harness';
import { createOrders } from '../lib/orders';
import { spawnManaged, stopManaged } from '../lib/procs';
import { summarize } from '../lib/stats';
import { QUEUE } from '@/server/queue/catalogue';

export const RATES = [10, 100, 500] as const;
const GRACE_MS = 60_000;

export interface PaidRow {
  rate: number;
  /** p50 of each leg: 2xx → job started (queue wait), job started → processed, processed → seen on the stream. */
  legs: { queueWait: number; processing: number; delivery: number };
  /** CPU ms per notification from the first send until every subscriber saw `paid`. */
  cpu: CpuSnapshot;
  notifications: number;
  subscribers: number;
  seen: number;
  lost: number;
  p50: number;
  p99: number;
  max: number;
  notifyP99: number;
  non2xx: number;
}

function request<T>(child: import('node:child_process').ChildProcess, msg: unknown, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`subscriber: no ${type} in ${timeoutMs / 1000} s`)), timeoutMs);
    const onMessage = (m: any) => {
      if (m?.type === type) {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m as T);
      }
    };
    child.on('message', onMessage);
    child.send(msg as any);
  });
}

/** Where the time went, per order: pg-boss's job timestamps and the inbox's processed_at (all one clock). */
async function decompose(ctx: Ctx, outTradeNos: string[], ackAt: Map<string, number>, seenAt: Map<string, number | undefined>) {
  const rows = await ctx.cluster.sql<{ no: string; started: number; processed: number }[]>`
    select n.resource->>'out_trade_no' as no,
           (extract(epoch from j.started_on) * 1000)::float8 as started,
           (extract(epoch from n.processed_at) * 1000)::float8 as processed
    from wechatpay_notifications n
    join pgboss.job j on j.name = ${QUEUE.processNotification} and (j.data->>'inboxId')::bigint = n.id
    where n.resource->>'out_trade_no' = any(${outTradeNos})`;
  const wait: number[] = [];
  const work: number[] = [];
  const deliver: number[] = [];
  for (const r of rows) {
    const ack = ackAt.get(r.no);
    const seen = seenAt.get(r.no);
    if (ack === undefined || seen === undefined || r.started === null || r.processed === null) continue;
    wait.push(Number(r.started) - ack);
    work.push(Number(r.processed) - Number(r.started));
    deliver.push(seen - Number(r.processed));
  }
  return { queueWait: summarize(wait).p50, processing: summarize(work).p50, delivery: summarize(deliver).p50 };
}

export async function runPaid(ctx: Ctx): Promise<PaidRow[]> {
  const { cluster, log } = ctx;
  const sz = sizes(ctx.opts.quick);
  const rows: PaidRow[] = [];
  await warmUp(
    ctx,
    cluster.webUrls,
    cluster.webs.map((m) => m.child.pid),
    sz.notifyWarmup,
  );
  for (const rate of RATES) {
    const n = rate * sz.paid[rate];
    const orders = await createOrders(cluster.db, n);
    // Every order gets a subscriber up to the cap; above it, every k-th order (spread over the whole run).
    const step = Math.max(1, Math.ceil(n / sz.paidMaxSubscribers));
    const watched = orders.filter((_, i) => i % step === 0);
    const sub = spawnManaged(`subscriber-${rate}`, NODE, ['--import', 'tsx', 'scripts/bench/subscriber.ts'], { ipc: true, verbose: ctx.opts.verbose });
    try {
      const ready = await request<{ failures: number }>(
        sub.child,
        { type: 'start', tokens: watched.map((o) => o.token), targets: cluster.webUrls },
        'ready',
        120_000,
      );
      if (ready.failures) log(`warning: ${ready.failures} subscriptions failed to open`);
      const cpuBefore = cpuSnapshot(ctx);
      const out = await runLoad(ctx, { mode: 'open', targets: cluster.webUrls, orders, rate, timeoutMs: 30_000 });
      // Wait for every paid view (a backlog can take a while to drain), up to GRACE_MS after the last 2xx.
      const result = await request<{ paidAt: Record<string, number>; failures: string[] }>(
        sub.child,
        { type: 'finish', graceMs: GRACE_MS },
        'result',
        GRACE_MS + 30_000,
      );
      await waitForDrain(ctx);
      const cpu = cpuPerItem(cpuBefore, cpuSnapshot(ctx), out.completed);
      const ackAt = new Map(out.done!.filter((d) => d.status >= 200 && d.status < 300).map((d) => [d.outTradeNo, d.at]));
      const latencies: number[] = [];
      let lost = 0;
      for (const o of watched) {
        const acked = ackAt.get(o.outTradeNo);
        const seen = result.paidAt[o.token];
        if (acked === undefined) continue; // not acknowledged: counted in non2xx
        // Not seen within the grace period: counted, and in the percentiles at the grace period's lower bound.
        if (seen === undefined) {
          lost++;
          latencies.push(Math.max(GRACE_MS, out.elapsedMs));
        } else latencies.push(seen - acked);
      }
      const s = summarize(latencies);
      const legs = await decompose(
        ctx,
        watched.map((o) => o.outTradeNo),
        ackAt,
        new Map(watched.map((o) => [o.outTradeNo, result.paidAt[o.token]])),
      );
      const r: PaidRow = {
        rate,
        legs,
        cpu,
        notifications: out.completed,
        subscribers: watched.length,
        seen: latencies.length - lost,
        lost,
        p50: s.p50,
        p99: s.p99,
        max: s.max,
        notifyP99: out.latency.p99,
        non2xx: out.non2xx + out.errors,
      };
      rows.push(r);
      log(
        `notify→paid ${String(rate).padStart(3)}/s: p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} max ${r.max.toFixed(1)} ms over ${r.seen}/${r.subscribers} subscribers (not seen within ${GRACE_MS / 1000} s: ${lost}, non-2xx ${r.non2xx}, notify p99 ${r.notifyP99.toFixed(1)} ms); ` +
          `p50 legs: queue wait ${legs.queueWait.toFixed(1)}, processing ${legs.processing.toFixed(1)}, to the stream ${legs.delivery.toFixed(1)} ms; ` +
          `CPU ms/notification: web ${cpu.web.toFixed(2)}, worker ${cpu.worker.toFixed(2)}, Postgres ${cpu.postgres.toFixed(2)}`,
      );
    } finally {
      await stopManaged(sub, 5000);
    }
    await waitForDrain(ctx);
  }
  return rows;
}
