// Notify ingestion at a fixed offered rate (open loop: requests leave on schedule whatever the server does,
// latency counted from the scheduled send time), for Scanpay, for the bare ingestion baseline, and for the
// common peer design that processes the payment inside the request before answering (peer-server.ts).
import { sizes } from '../lib/config';
import { runLoad, waitForDrain, warmUp, type Ctx } from '../lib/harness';
import { createOrders } from '../lib/orders';
import { round } from '../lib/stats';

export interface OpenLoopRow {
  system: 'scanpay' | 'baseline' | 'peer';
  rate: number;
  requests: number;
  achievedRps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  /** How late the sender itself was against its schedule (p99, max): a starved machine, not the server. */
  sendLateP99?: number;
  sendLateMax?: number;
}

export async function runOpenLoop(ctx: Ctx): Promise<OpenLoopRow[]> {
  const { cluster, log } = ctx;
  const { rate, seconds } = sizes(ctx.opts.quick).openLoop;
  const rows: OpenLoopRow[] = [];
  try {
    for (const system of ['scanpay', 'baseline', 'peer'] as const) {
      if (system !== 'scanpay') await cluster.startBaseline(system === 'peer' ? 'inline' : 'ingest');
      const targets = system === 'scanpay' ? cluster.webUrls : [cluster.baselineUrl];
      const pids = system === 'scanpay' ? cluster.webs.map((m) => m.child.pid) : [cluster.baseline?.child.pid];
      await warmUp(ctx, targets, pids, sizes(ctx.opts.quick).notifyWarmup);
      const orders = await createOrders(cluster.db, rate * seconds);
      const out = await runLoad(ctx, { mode: 'open', targets, orders, rate, timeoutMs: 30_000 });
      await waitForDrain(ctx);
      const r: OpenLoopRow = {
        system,
        rate,
        requests: out.completed,
        achievedRps: out.rps,
        p50: out.latency.p50,
        p95: out.latency.p95,
        p99: out.latency.p99,
        max: out.latency.max,
        non2xx: out.non2xx,
        errors: out.errors,
        sendLateP99: out.sendLate ? round(out.sendLate.p99) : undefined,
        sendLateMax: out.sendLate ? round(out.sendLate.max) : undefined,
      };
      rows.push(r);
      if (system !== 'scanpay') await cluster.stopBaseline();
      log(
        `open loop ${system.padEnd(8)} ${rate}/s × ${seconds} s: p50 ${r.p50.toFixed(1)} p95 ${r.p95.toFixed(1)} p99 ${r.p99.toFixed(1)} max ${r.max.toFixed(1)} ms  non-2xx ${r.non2xx}  errors ${r.errors}  (sent late p99 ${r.sendLateP99} max ${r.sendLateMax} ms)`,
      );
    }
  } finally {
    await cluster.stopBaseline();
  }
  return rows;
}
