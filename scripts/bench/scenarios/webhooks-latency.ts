// Outbox → first delivery attempt: real signed paid notifications for real orders, open loop at a fixed
// rate, with one webhook endpoint at the local receiver. Latency per event = when the receiver got its
// first request minus the outbox event's created_at (one machine, one clock); events with no request
// within the grace period are counted, and enter the percentiles at how long they had waited when the
// grace period ended (a lower bound).
import { sql } from 'drizzle-orm';
import { runLoad, waitForDrain, type Ctx } from '../lib/harness';
import { createOrders } from '../lib/orders';
import { purgeDeliveryQueue, type Receiver } from '../lib/receiver';
import { round, summarize } from '../lib/stats';

export interface LatencyRow {
  rate: number;
  seconds: number;
  events: number;
  attempted: number;
  noAttempt: number;
  graceS: number;
  p50: number;
  p99: number;
  max: number;
  notifyP99: number;
  non2xx: number;
  purged: number;
  /** p50 of each leg over the attempted events: created → relayed, relayed → delivery row (fan-out), delivery row → first request. */
  legs: { relay: number; fanout: number; deliver: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the time went, from the rows' own timestamps (one clock: the database's and ours are the machine's). */
async function legs(ctx: Ctx, afterId: number, firstAt: Map<string, number>): Promise<LatencyRow['legs']> {
  const rows = await ctx.cluster.db.execute<{ id: string; created: number; published: number | null; fanned: number | null }>(sql`
    select e.id, (extract(epoch from e.created_at) * 1000)::float8 as created,
           (extract(epoch from e.published_at) * 1000)::float8 as published,
           (extract(epoch from min(d.created_at)) * 1000)::float8 as fanned
    from outbox_events e
    left join webhook_messages m on m.outbox_event_id = e.id
    left join webhook_deliveries d on d.message_id = m.id
    where e.id > ${afterId} and e.topic = 'payment.succeeded'
    group by e.id`);
  const relay: number[] = [];
  const fanout: number[] = [];
  const deliver: number[] = [];
  for (const r of rows) {
    const at = firstAt.get(`evt_${r.id}`);
    if (at === undefined || r.published === null || r.fanned === null) continue;
    relay.push(Number(r.published) - Number(r.created));
    fanout.push(Number(r.fanned) - Number(r.published));
    deliver.push(at - Number(r.fanned));
  }
  return { relay: round(summarize(relay).p50), fanout: round(summarize(fanout).p50), deliver: round(summarize(deliver).p50) };
}

async function eventsSince(ctx: Ctx, afterId: number): Promise<{ id: number; created: number }[]> {
  const rows = await ctx.cluster.db.execute<{ id: string; created: number }>(sql`
    select id, (extract(epoch from created_at) * 1000)::float8 as created from outbox_events
    where id > ${afterId} and topic = 'payment.succeeded'`);
  return rows.map((r) => ({ id: Number(r.id), created: Number(r.created) }));
}

export async function runWebhookLatency(ctx: Ctx, receiver: Receiver, plan: { rate: number; seconds: number }[], graceMs: number): Promise<LatencyRow[]> {
  const { cluster, log } = ctx;
  const rows: LatencyRow[] = [];
  for (const { rate, seconds } of plan) {
    await receiver.take();
    const [top] = await cluster.db.execute<{ id: string | null }>(sql`select max(id) as id from outbox_events`);
    const watermark = Number(top?.id ?? 0);
    const orders = await createOrders(cluster.db, rate * seconds);
    const out = await runLoad(ctx, { mode: 'open', targets: cluster.webUrls, orders, rate, timeoutMs: 30_000 });
    const firstAt = new Map<string, number>();
    const deadline = Date.now() + graceMs;
    let events = await eventsSince(ctx, watermark);
    for (;;) {
      for (const h of (await receiver.take()).hits) if (!firstAt.has(h.id)) firstAt.set(h.id, h.at);
      events = await eventsSince(ctx, watermark);
      const done = events.length >= out.ok && events.every((e) => firstAt.has(`evt_${e.id}`));
      if (done || Date.now() > deadline) break;
      await sleep(250);
    }
    const endedAt = Date.now();
    const latencies: number[] = [];
    let noAttempt = 0;
    for (const e of events) {
      const at = firstAt.get(`evt_${e.id}`);
      if (at === undefined) {
        noAttempt++;
        latencies.push(endedAt - e.created);
      } else latencies.push(at - e.created);
    }
    const s = summarize(latencies);
    const legsP50 = await legs(ctx, watermark, firstAt);
    const purged = await purgeDeliveryQueue(cluster);
    await waitForDrain(ctx);
    const r: LatencyRow = {
      rate,
      seconds,
      events: events.length,
      attempted: events.length - noAttempt,
      noAttempt,
      graceS: graceMs / 1000,
      p50: round(s.p50),
      p99: round(s.p99),
      max: round(s.max),
      notifyP99: round(out.latency.p99),
      non2xx: out.non2xx + out.errors,
      purged,
      legs: legsP50,
    };
    rows.push(r);
    log(
      `outbox→first attempt ${rate}/s × ${seconds} s: p50 ${r.p50} p99 ${r.p99} max ${r.max} ms over ${r.events} events; no attempt within ${r.graceS} s: ${noAttempt} (purged ${purged} queued attempts); notify p99 ${r.notifyP99} ms, non-2xx ${r.non2xx}; p50 legs: relay ${legsP50.relay}, fan-out ${legsP50.fanout}, delivery queue ${legsP50.deliver} ms`,
    );
  }
  return rows;
}
