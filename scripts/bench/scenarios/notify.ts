// Notify ingestion: distinct signed + encrypted notifications for real orders, posted to
// /api/wechatpay/notify at concurrency 1, 16, 64 and 256 — against Scanpay (Next) and, in the same run,
// against the bare node:http baseline doing the identical work. The worker processes what is ingested
// while the load runs (as in production) and is allowed to drain before the next run.
import { sql } from 'drizzle-orm';
import { createOrders } from '../lib/orders';
import { cpuPerItem, cpuSnapshot, runLoad, unpaidAmong, waitForDrain, warmUp, withResources, type CpuSnapshot, type Ctx } from '../lib/harness';
import type { LoadOutput } from '../loadgen';
import { sizes } from '../lib/config';

export const CONCURRENCIES = [1, 16, 64, 256] as const;

export interface NotifyRow {
  system: 'scanpay' | 'baseline';
  concurrency: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  drainMs: number;
  /** CPU ms per notification over the run and its drain, by part of the system. */
  cpu: CpuSnapshot;
}

export interface NotifyResult {
  rows: NotifyRow[];
  resources: Record<string, number>;
  unpaid: number;
}

function row(system: NotifyRow['system'], concurrency: number, out: LoadOutput, drainMs: number, cpu: CpuSnapshot): NotifyRow {
  return {
    system,
    concurrency,
    requests: out.completed,
    rps: out.rps,
    p50: out.latency.p50,
    p95: out.latency.p95,
    p99: out.latency.p99,
    max: out.latency.max,
    non2xx: out.non2xx,
    errors: out.errors,
    drainMs,
    cpu,
  };
}

export async function runNotify(ctx: Ctx): Promise<NotifyResult> {
  const { cluster, log } = ctx;
  const sz = sizes(ctx.opts.quick);
  await cluster.startBaseline();
  const targets = { scanpay: cluster.webUrls, baseline: [cluster.baselineUrl] };
  const rows: NotifyRow[] = [];
  let resources: Record<string, number> = {};
  let unpaid = 0;
  try {
    // Warm both (JIT, pools, pg-boss, prepared statements) with the same work; results discarded.
    await warmUp(
      ctx,
      targets.scanpay,
      cluster.webs.map((m) => m.child.pid),
      sz.notifyWarmup,
    );
    await warmUp(ctx, targets.baseline, [cluster.baseline?.child.pid], sz.notifyWarmup);
    log(`warmed up (${sz.notifyWarmup} notifications each)`);

    for (const c of CONCURRENCIES) {
      // Same orders count for both; Scanpay first, then the baseline, at each level.
      for (const system of ['scanpay', 'baseline'] as const) {
        const orders = await createOrders(cluster.db, sz.notify[c]);
        const measure = () => runLoad(ctx, { mode: 'closed', targets: targets[system], orders, connections: c, timeoutMs: 30_000 });
        let out: LoadOutput;
        const cpuBefore = cpuSnapshot(ctx);
        if (system === 'scanpay') {
          const sampled = await withResources(ctx, measure);
          out = sampled.result;
          for (const [k, v] of Object.entries(sampled.peaks)) resources[k] = Math.max(resources[k] ?? -Infinity, v);
        } else {
          out = await measure();
        }
        const drainMs = await waitForDrain(ctx);
        const cpu = cpuPerItem(cpuBefore, cpuSnapshot(ctx), out.completed);
        unpaid += await unpaidAmong(ctx, orders);
        const r = row(system, c, out, drainMs, cpu);
        rows.push(r);
        log(
          `notify ${system.padEnd(8)} c=${String(c).padEnd(3)} ${r.rps.toFixed(0).padStart(5)} req/s  p50 ${r.p50.toFixed(1)} p95 ${r.p95.toFixed(1)} p99 ${r.p99.toFixed(1)} ms  non-2xx ${r.non2xx}  errors ${r.errors}  (drain ${(drainMs / 1000).toFixed(1)} s; CPU ms/notification: web ${cpu.web.toFixed(2)}, worker ${cpu.worker.toFixed(2)}, baseline ${cpu.baseline.toFixed(2)}, Postgres ${cpu.postgres.toFixed(2)})`,
        );
      }
    }
  } finally {
    await cluster.stopBaseline();
  }
  const dup = (await cluster.db.execute<{ n: number }>(sql`select count(*)::int as n from wechatpay_notifications where deliveries > 1`))[0]!;
  if (Number(dup.n)) log(`warning: ${dup.n} notifications were delivered more than once (the load generator reused one)`);
  resources = Object.fromEntries(Object.entries(resources).filter(([, v]) => Number.isFinite(v)));
  return { rows, resources, unpaid };
}
