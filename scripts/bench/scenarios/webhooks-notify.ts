// The notify path with and without webhook consumers: closed loop at c64 against the web processes, in
// alternating pairs (none, then with endpoints) in one run, so drift of a shared machine hits both sides.
// After each run its webhook backlog is dropped, so it does not load the next measurement.
import { cpuPerItem, cpuSnapshot, runLoad, waitForDrain, type Ctx } from '../lib/harness';
import { treeCpuSeconds } from '../lib/resources';
import { createOrders } from '../lib/orders';
import { deliveriesOutstanding, purgeDeliveryQueue, setEndpoints, type Receiver } from '../lib/receiver';
import { resetStatements, topStatements } from '../lib/profile';
import { round } from '../lib/stats';

/** One closed-loop run: its rate, p99, and CPU ms per request of each part during the load. */
export interface NotifySide {
  rps: number;
  p99: number;
  cpuMs?: { web: number; worker: number; postgres: number; receiver: number };
}

export interface NotifyPair {
  pair: number;
  none: NotifySide;
  with: NotifySide;
  rpsRatio: number;
  p99Ratio: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settle(ctx: Ctx): Promise<void> {
  await waitForDrain(ctx);
  // Fan-out jobs finish quickly; delivery attempts are dropped rather than waited for.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    await purgeDeliveryQueue(ctx.cluster);
    if ((await deliveriesOutstanding(ctx.cluster)) === 0) return;
    await sleep(250);
  }
}

export async function runWebhookNotify(
  ctx: Ctx,
  receiver: Receiver,
  opts: { pairs: number; requests: number; endpoints: number; profile?: boolean },
): Promise<NotifyPair[]> {
  const { cluster, log } = ctx;
  const pairs: NotifyPair[] = [];
  for (let p = 1; p <= opts.pairs; p++) {
    const side: Record<'none' | 'with', NotifySide> = { none: { rps: 0, p99: 0 }, with: { rps: 0, p99: 0 } };
    for (const mode of ['none', 'with'] as const) {
      await receiver.secrets(await setEndpoints(cluster, receiver, mode === 'with' ? opts.endpoints : 0), 50);
      const orders = await createOrders(cluster.db, opts.requests);
      const receiverCpu = () => (receiver.pid ? treeCpuSeconds(receiver.pid) : 0);
      if (opts.profile) await resetStatements(cluster);
      const before = cpuSnapshot(ctx);
      const receiverBefore = receiverCpu();
      const out = await runLoad(ctx, { mode: 'closed', targets: cluster.webUrls, orders, connections: 64, timeoutMs: 30_000 });
      const per = cpuPerItem(before, cpuSnapshot(ctx), opts.requests);
      const cpuMs = {
        web: round(per.web),
        worker: round(per.worker),
        postgres: round(per.postgres),
        receiver: round(((receiverCpu() - receiverBefore) * 1000) / opts.requests),
      };
      side[mode] = { rps: round(out.rps), p99: round(out.latency.p99), cpuMs };
      log(
        `notify c64, webhook endpoints ${mode === 'with' ? opts.endpoints : 0}: ${side[mode].rps} req/s, p99 ${side[mode].p99} ms (non-2xx ${out.non2xx + out.errors}); ` +
          `CPU ms/request during the load: web ${cpuMs.web}, worker ${cpuMs.worker}, Postgres ${cpuMs.postgres}, receiver ${cpuMs.receiver}`,
      );
      if (opts.profile) log(`top statements during the load (${mode}):\n${await topStatements(cluster, 15)}`);
      await settle(ctx);
      await receiver.take();
    }
    pairs.push({ pair: p, none: side.none, with: side.with, rpsRatio: round(side.with.rps / side.none.rps), p99Ratio: round(side.with.p99 / side.none.p99) });
  }
  return pairs;
}
