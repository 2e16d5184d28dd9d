// Rollup lag: real signed paid notifications for real orders, sent open-loop at a fixed rate; for each
// payment, the time from its outbox event (written in the transaction that marks the order paid) until
// the dashboard's totals (stats_daily, folded from stats_hourly, folded from stats_slices) count it. A poller reads the total paid
// count on the database's own clock every few milliseconds; payment k (k-th payment.succeeded event by id,
// i.e. by commit) is counted once the total reaches k. The resolution is the poll interval plus one query.
// The last leg first fills the current hour with paid orders (a SQL seed, as if 500/s had been running for
// a while, ending two minutes before the leg), so the table shows whether the lag grows with the size of
// the hour being rolled up.
import { recomputeStats } from '@/server/stats/rollup';
import { beijingDay } from '@/server/stats/time';
import { sizes as benchSizes } from '../lib/config';
import { runLoad, waitForDrain, warmUp, type Ctx } from '../lib/harness';
import { createOrders } from '../lib/orders';
import { summarize } from '../lib/stats';

const POLL_MS = 10;
const GRACE_MS = 60_000;

export interface LagRow {
  rate: number;
  seconds: number;
  /** Orders paid in the current hour when the leg started (seeded ones included). */
  hourPaid?: number;
  payments: number;
  counted: number;
  /** Never counted within the grace period: in the percentiles at the grace period. */
  lost: number;
  p50: number;
  p99: number;
  max: number;
  /** p50 of the relay leg: event written → handed to the consumers' queues (published_at). */
  relayP50: number;
  notifyP99: number;
  non2xx: number;
  /** Median time between two polls (the measurement's resolution). */
  pollMs: number;
}

interface Observation {
  at: number;
  total: number;
}

/** Polls the dashboard's total paid count until stopped; keeps the first moment each new total was seen. */
function startPoller(ctx: Ctx) {
  const seen: Observation[] = [];
  const gaps: number[] = [];
  let stopped = false;
  let last = -1;
  let lastAt = 0;
  const loop = (async () => {
    while (!stopped) {
      const [r] = await ctx.cluster.sql<{ at: number; total: string }[]>`
        select (extract(epoch from clock_timestamp()) * 1000)::float8 as at, coalesce(sum(paid_count), 0)::bigint as total from stats_daily`;
      const at = Number(r!.at);
      const total = Number(r!.total);
      if (lastAt) gaps.push(at - lastAt);
      lastAt = at;
      if (total > last) {
        seen.push({ at, total });
        last = total;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  return {
    total: () => last,
    async stop() {
      stopped = true;
      await loop;
      return { seen, pollMs: summarize(gaps).p50 };
    },
  };
}

/** First moment the total reached `k` (observations ascending in both time and total). */
function firstAtLeast(seen: Observation[], k: number): number | undefined {
  let lo = 0;
  let hi = seen.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seen[mid]!.total >= k) hi = mid;
    else lo = mid + 1;
  }
  return seen[lo]?.at;
}

interface Leg {
  rate: number;
  seconds: number;
  /** Paid orders seeded into the current hour before the leg. */
  seed: number;
}

export function lagSizes(quick: boolean): { legs: Leg[]; notifyWarmup: number } {
  const seconds = quick ? 4 : 15;
  return {
    legs: [
      { rate: 100, seconds, seed: 0 },
      { rate: 500, seconds, seed: 0 },
      { rate: 500, seconds, seed: quick ? 20_000 : 200_000 },
    ],
    notifyWarmup: benchSizes(quick).notifyWarmup,
  };
}

const SEED_RATE = 500;
/** The seed ends this long before the leg, so the leg's own minutes hold only the leg's orders. */
const SEED_GAP_MS = 2 * 60_000;
const HOUR_MS = 3_600_000;

/**
 * Waits, if need be, until the current hour has room for the seed before the leg and for the leg itself
 * (orders, load, drain): the seed and the leg's payments must fall in the same hour.
 */
async function waitForRoomInHour(ctx: Ctx): Promise<void> {
  const into = Date.now() % HOUR_MS;
  const wait = into < SEED_GAP_MS + 60_000 ? SEED_GAP_MS + 60_000 - into : into > HOUR_MS - 4 * 60_000 ? HOUR_MS - into + SEED_GAP_MS + 60_000 : 0;
  if (!wait) return;
  ctx.log(`waiting ${(wait / 1000).toFixed(0)} s so the seed and the leg share one hour`);
  await new Promise((r) => setTimeout(r, wait));
}

/**
 * Paid orders (no attempts, no events) at up to SEED_RATE per second, in the current hour but ending
 * SEED_GAP_MS before now, then rolled up directly so the leg starts with the stats tables consistent.
 * The minutes the leg touches hold only its own orders, as in the leg without a seed: the two legs differ
 * by the size of the hour alone.
 */
async function seedHour(ctx: Ctx, n: number): Promise<void> {
  const { cluster } = ctx;
  const [r] = await cluster.sql<{ from: number; to: number }[]>`
    select (extract(epoch from greatest(date_trunc('hour', now()) + interval '1 second',
                                        now() - make_interval(secs => ${SEED_GAP_MS / 1000 + n / SEED_RATE}))) * 1000)::float8 as from,
           (extract(epoch from now() - make_interval(secs => ${SEED_GAP_MS / 1000})) * 1000)::float8 as to`;
  const w = { from: new Date(Number(r!.from)), to: new Date(Number(r!.to)) };
  const started = Date.now();
  await cluster.sql`
    insert into orders (token, status, amount_fen, description, paid_at, paid_via, created_at, updated_at)
    select 'bench-seed-' || gen_random_uuid(), 'paid', 100 + g % 900, 'bench seed', t, 'notify', t - interval '20 seconds', t
    from (select g, ${w.from.toISOString()}::timestamptz + (${w.to.toISOString()}::timestamptz - ${w.from.toISOString()}::timestamptz) * g / ${n}::int as t
          from generate_series(1, ${n}::int) g) x`;
  await cluster.sql`analyze orders`;
  const seeded = Date.now();
  await recomputeStats(cluster.db, beijingDay(new Date(w.from.getTime() - 60_000)), beijingDay(new Date()));
  ctx.log(
    `seeded ${n} paid orders over ${w.from.toISOString()} … ${w.to.toISOString()} in ${((seeded - started) / 1000).toFixed(1)} s; recomputeStats ${((Date.now() - seeded) / 1000).toFixed(1)} s`,
  );
}

export async function runStatsLag(ctx: Ctx): Promise<LagRow[]> {
  const { cluster, log } = ctx;
  const sz = lagSizes(ctx.opts.quick);
  await warmUp(
    ctx,
    cluster.webUrls,
    cluster.webs.map((m) => m.child.pid),
    sz.notifyWarmup,
  );
  const rows: LagRow[] = [];
  // Seeded paid orders have no payment.succeeded event: the k-th payment is counted at total k + seeded.
  let seeded = 0;
  for (const { rate, seconds, seed } of sz.legs) {
    if (seed) {
      await waitForRoomInHour(ctx);
      await seedHour(ctx, seed);
      seeded += seed;
    }
    const orders = await createOrders(cluster.db, rate * seconds);
    await waitForDrain(ctx);
    const [hour] = await cluster.sql<{ n: string }[]>`
      select count(*) as n from orders where paid_at >= date_trunc('hour', now()) and paid_at < now()`;
    const [before] = await cluster.sql<{ id: string | null; n: string }[]>`
      select max(id) as id, count(*) as n from outbox_events where topic = 'payment.succeeded'`;
    const idBefore = Number(before!.id ?? 0);
    const poller = startPoller(ctx);
    let out: Awaited<ReturnType<typeof runLoad>>;
    let expected = 0;
    let polled: Awaited<ReturnType<typeof poller.stop>>;
    try {
      out = await runLoad(ctx, { mode: 'open', targets: cluster.webUrls, orders, rate, timeoutMs: 30_000 });
      await waitForDrain(ctx);
      const [all] = await cluster.sql<{ n: string }[]>`select count(*) as n from outbox_events where topic = 'payment.succeeded'`;
      expected = Number(all!.n) + seeded;
      const until = Date.now() + GRACE_MS;
      while (poller.total() < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    } finally {
      polled = await poller.stop();
    }
    // Rank of each of this run's payments among all payments, in commit (id) order.
    const events = await cluster.sql<{ rank: string; created: number; published: number | null }[]>`
      select rank, created, published from (
        select id, row_number() over (order by id) as rank,
               (extract(epoch from created_at) * 1000)::float8 as created,
               (extract(epoch from published_at) * 1000)::float8 as published
        from outbox_events where topic = 'payment.succeeded') e
      where id > ${idBefore} order by id`;
    const lags: number[] = [];
    const relay: number[] = [];
    let lost = 0;
    for (const e of events) {
      const at = firstAtLeast(polled.seen, Number(e.rank) + seeded);
      if (at === undefined) {
        lost++;
        lags.push(GRACE_MS);
      } else lags.push(Math.max(0, at - Number(e.created)));
      if (e.published !== null) relay.push(Number(e.published) - Number(e.created));
    }
    const s = summarize(lags);
    const r: LagRow = {
      rate,
      seconds,
      hourPaid: Number(hour!.n),
      payments: events.length,
      counted: events.length - lost,
      lost,
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      relayP50: summarize(relay).p50,
      notifyP99: out.latency.p99,
      non2xx: out.non2xx + out.errors,
      pollMs: polled.pollMs,
    };
    if (r.payments !== orders.length) log(`warning: ${orders.length} notifications sent, ${r.payments} payments recorded`);
    rows.push(r);
    log(
      `rollup lag ${String(rate).padStart(3)}/s × ${seconds} s (${Number(hour!.n)} paid in the hour at the start): p50 ${r.p50.toFixed(0)} p99 ${r.p99.toFixed(0)} max ${r.max.toFixed(0)} ms over ${r.counted}/${r.payments} payments (not counted within ${GRACE_MS / 1000} s: ${lost}); relay p50 ${r.relayP50.toFixed(0)} ms; notify p99 ${r.notifyP99.toFixed(1)} ms, non-2xx ${r.non2xx}; poll every ${r.pollMs.toFixed(1)} ms`,
    );
  }
  return rows;
}
