// The notify path with and without webhook consumers: closed loop at c64 against the web processes, in
// alternating pairs (none, then with endpoints) in one run, so drift of a shared machine hits both sides.
// After each run its webhook backlog is dropped, so it does not load the next measurement.
import { runLoad, waitForDrain, type Ctx } from '../lib/harness';
import { createOrders } from '../lib/orders';
import { deliveriesOutstanding, purgeDeliveryQueue, setEndpoints, type Receiver } from '../lib/receiver';
import { round } from '../lib/stats';

export interface NotifyPair {
  pair: number;
  none: { rps: number; p99: number };
  with: { rps: number; p99: number };
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

export async function runWebhookNotify(ctx: Ctx, receiver: Receiver, opts: { pairs: number; requests: number; endpoints: number }): Promise<NotifyPair[]> {
  const { cluster, log } = ctx;
  const pairs: NotifyPair[] = [];
  for (let p = 1; p <= opts.pairs; p++) {
    const side: Record<'none' | 'with', { rps: number; p99: number }> = { none: { rps: 0, p99: 0 }, with: { rps: 0, p99: 0 } };
    for (const mode of ['none', 'with'] as const) {
      await receiver.secrets(await setEndpoints(cluster, receiver, mode === 'with' ? opts.endpoints : 0), 50);
      const orders = await createOrders(cluster.db, opts.requests);
      const out = await runLoad(ctx, { mode: 'closed', targets: cluster.webUrls, orders, connections: 64, timeoutMs: 30_000 });
      side[mode] = { rps: round(out.rps), p99: round(out.latency.p99) };
      log(
        `notify c64, webhook endpoints ${mode === 'with' ? opts.endpoints : 0}: ${side[mode].rps} req/s, p99 ${side[mode].p99} ms (non-2xx ${out.non2xx + out.errors})`,
      );
      await settle(ctx);
      await receiver.take();
    }
    pairs.push({ pair: p, none: side.none, with: side.with, rpsRatio: round(side.with.rps / side.none.rps), p99Ratio: round(side.with.p99 / side.none.p99) });
  }
  return pairs;
}
