// Delivery throughput: with the workers stopped, a backlog of deliveries is queued through the product's
// own functions (outbox events written by writeOutboxEvent for paid orders, fanned out by fanoutEvents
// over the endpoints), then the workers start and the receiver counts what arrives. deliveries/s = the
// requests received from the first to the last (or to the time cap, when the backlog is not through).
// With `slowMs`, endpoint /e0 answers that long after each request (a slow business system) and the row
// counts the other endpoints' deliveries only: how much one slow receiver holds up the rest.
import { inArray, sql } from 'drizzle-orm';
import { outboxEvents } from '@/db/schema';
import { loadEnv } from '@/server/env';
import { writeOutboxEvent } from '@/server/outbox/write';
import { fanoutEvents } from '@/server/webhooks/deliveries';
import type { Ctx } from '../lib/harness';
import { purgeDeliveryQueue, setEndpoints, type Receiver } from '../lib/receiver';
import { round } from '../lib/stats';

export interface ThroughputRow {
  endpoints: number;
  queued: number;
  received: number;
  complete: boolean;
  seconds: number;
  perSecond: number;
  seedSeconds: number;
  verified: number;
  badSignatures: number;
  duplicates: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seedRun = 0;

/** `events` new payment.succeeded outbox events (copies of paid orders' own), fanned out; returns deliveries queued. */
async function seed(ctx: Ctx, events: number): Promise<number> {
  const { db } = ctx.cluster;
  const run = ++seedRun;
  const source = await db.execute<{ order_id: string; payload: Record<string, unknown> }>(sql`
    select order_id, payload from outbox_events where topic = 'payment.succeeded' and order_id is not null order by id limit ${events}`);
  if (!source.length) throw new Error('no paid orders to seed webhook events from');
  const ids: number[] = [];
  for (let i = 0; i < events; i += 500) {
    await db.transaction(async (tx) => {
      for (let k = i; k < Math.min(events, i + 500); k++) {
        const s = source[k % source.length]!;
        await writeOutboxEvent(tx, { topic: 'payment.succeeded', orderId: s.order_id, dedupeKey: `bench-throughput:${run}:${k}`, payload: s.payload });
      }
    });
  }
  const rows = await db.execute<{ id: string }>(sql`select id from outbox_events where dedupe_key like ${`bench-throughput:${run}:%`} order by id`);
  for (const r of rows) ids.push(Number(r.id));
  // Already handed over (below): the relay must not fan them out a second time when the workers start.
  await db.update(outboxEvents).set({ publishedAt: new Date() }).where(inArray(outboxEvents.id, ids));
  const deps = { db, env: loadEnv() };
  let deliveries = 0;
  for (let i = 0; i < ids.length; i += 250) deliveries += (await fanoutEvents(deps, ids.slice(i, i + 250))).deliveries;
  return deliveries;
}

export async function runWebhookThroughput(
  ctx: Ctx,
  receiver: Receiver,
  opts: { endpoints: number; deliveries: number; capMs: number; workers: number; slowMs?: number },
): Promise<ThroughputRow> {
  const { cluster, log } = ctx;
  await cluster.stopWorkers();
  await purgeDeliveryQueue(cluster);
  const secrets = await setEndpoints(cluster, receiver, opts.endpoints);
  const sampleEvery = 50;
  const slowPath = opts.slowMs ? '/e0' : null;
  await receiver.secrets(secrets, sampleEvery, slowPath ? { [slowPath]: opts.slowMs! } : {});
  const seedStarted = Date.now();
  const perEndpoint = Math.ceil(opts.deliveries / opts.endpoints);
  const all = await seed(ctx, perEndpoint);
  const queued = slowPath ? all - perEndpoint : all;
  const seedSeconds = (Date.now() - seedStarted) / 1000;
  // Every leg from the same state: the earlier legs' dead rows vacuumed and the seeded backlog analyzed, so
  // this leg measures delivery and not the clean-up of the load before it (autovacuum would otherwise run
  // through it, on the same two cores).
  const vacuumStarted = Date.now();
  await cluster.db.execute(sql`vacuum (analyze)`);
  log(`vacuum analyze before the leg: ${((Date.now() - vacuumStarted) / 1000).toFixed(1)} s`);
  await receiver.take();
  await cluster.startWorkers(opts.workers);
  const seen = new Set<string>();
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  let verified = 0;
  let badSignatures = 0;
  let duplicates = 0;
  let slowReceived = 0;
  let capAt = Number.POSITIVE_INFINITY;
  for (;;) {
    const t = await receiver.take();
    verified += t.verified;
    badSignatures += t.badSignatures;
    for (const h of t.hits) {
      if (h.path === slowPath) {
        slowReceived++;
        continue;
      }
      const key = `${h.path} ${h.id}`;
      if (seen.has(key)) duplicates++;
      else seen.add(key);
      first = Math.min(first, h.at);
      last = Math.max(last, h.at);
    }
    if (Number.isFinite(first) && capAt === Number.POSITIVE_INFINITY) capAt = first + opts.capMs;
    if (seen.size >= queued || Date.now() > capAt || Date.now() - seedStarted > opts.capMs + 60_000) break;
    await sleep(200);
  }
  const complete = seen.size >= queued;
  const seconds = Number.isFinite(first) ? ((complete ? last : Math.max(last, Date.now())) - first) / 1000 : 0;
  const row: ThroughputRow = {
    endpoints: opts.endpoints,
    queued,
    received: seen.size,
    complete,
    seconds: round(seconds),
    perSecond: round(seconds > 0 ? seen.size / seconds : 0),
    seedSeconds: round(seedSeconds),
    verified,
    badSignatures,
    duplicates,
  };
  const slowNote = slowPath
    ? ` to the ${opts.endpoints - 1} fast endpoints, while ${slowPath} answers after ${opts.slowMs} ms (${slowReceived} requests to it)`
    : '';
  log(
    `delivery throughput, ${opts.endpoints} endpoint(s), ${opts.workers} workers: ${row.received}/${queued} delivered${slowNote} in ${row.seconds} s = ${row.perSecond}/s${complete ? '' : ` (time cap ${opts.capMs / 1000} s)`}; signatures verified ${verified}, bad ${badSignatures}; duplicates ${duplicates}`,
  );
  // Workers first: their last settles would race the purge's update of the same rows.
  await cluster.stopWorkers();
  await purgeDeliveryQueue(cluster);
  return row;
}
