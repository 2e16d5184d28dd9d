// The outbox relay hands every committed event to each consumer's queue exactly once, filtered by
// topic, with any number of relays running at once.
import { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeOutboxEvent } from '@/server/outbox/write';
import { relayOutbox, startOutboxRelay } from '@/server/outbox/relay';
import type { OutboxConsumer } from '@/server/outbox/consumers';
import type { EventType } from '@/server/outbox/events';
import { startHarness, type Harness } from '../helpers/app-harness';

const ALL = 'test.outbox-all';
const REFUNDS = 'test.outbox-refunds';
// Test queues stand in for real consumers: the relay is generic over the consumer list.
const consumers = [{ queue: ALL }, { queue: REFUNDS, topics: ['refund.succeeded'] }] as unknown as OutboxConsumer[];

let h: Harness;
let boss: PgBoss;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  boss = new PgBoss({ connectionString: process.env.DATABASE_URL!, max: 2, supervise: false, schedule: false });
  await boss.start();
  for (const name of [ALL, REFUNDS]) await boss.createQueue(name);
  await relayAll(); // whatever earlier files left unpublished
  await clearJobs();
});
afterAll(async () => {
  await clearJobs();
  for (const name of [ALL, REFUNDS]) await boss?.deleteQueue(name);
  await boss?.stop({ graceful: false, close: true });
  await h?.close();
});

async function clearJobs() {
  await h.db.$client.unsafe(`delete from pgboss.job where name = any($1)`, [[ALL, REFUNDS]]);
}
async function relayAll() {
  while ((await relayOutbox(h.db, consumers, 50)) > 0);
}
async function write(topic: EventType, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${topic}:${crypto.randomUUID()}`;
    await h.db.transaction((tx) => writeOutboxEvent(tx, { topic, orderId: null, dedupeKey: key, payload: { key } }));
    const [row] = await h.db.$client.unsafe<{ id: string }[]>(`select id from outbox_events where dedupe_key = $1`, [key]);
    ids.push(Number(row!.id));
  }
  return ids;
}
async function relayedTo(queue: string): Promise<number[]> {
  const rows = await h.db.$client.unsafe<{ data: { version: number; eventIds: number[] } }[]>(`select data from pgboss.job where name = $1`, [queue]);
  for (const r of rows) expect(r.data.version).toBe(1);
  return rows.flatMap((r) => r.data.eventIds).sort((a, b) => a - b);
}

it('writes one event per cause', async () => {
  const key = `alert.opened:${crypto.randomUUID()}`;
  const once = await h.db.transaction((tx) => writeOutboxEvent(tx, { topic: 'alert.opened', orderId: null, dedupeKey: key, payload: {} }));
  const twice = await h.db.transaction((tx) => writeOutboxEvent(tx, { topic: 'alert.opened', orderId: null, dedupeKey: key, payload: {} }));
  expect([once, twice]).toEqual([true, false]);
  await relayAll();
  await clearJobs();
});

it('gives each consumer every event of its topics exactly once, even with relays racing', async () => {
  const paid = await write('payment.succeeded', 40);
  const refunded = await write('refund.succeeded', 30);
  // Four relays at once, small batches: skip-locked passes must never hand an event out twice.
  await Promise.all(Array.from({ length: 4 }, () => relayAll()));
  expect(await relayedTo(ALL)).toEqual([...paid, ...refunded].sort((a, b) => a - b));
  expect(await relayedTo(REFUNDS)).toEqual(refunded);
  const left = await h.db.$client.unsafe(`select count(*)::int as n from outbox_events where published_at is null`);
  expect(left[0]!.n).toBe(0);
  expect(await relayOutbox(h.db, consumers)).toBe(0); // nothing is handed out again
  await clearJobs();
});

it('a consumer that cannot take the batch rolls the whole pass back: nothing is lost', async () => {
  const ids = await write('refund.closed', 3);
  const broken = [...consumers, { queue: 'test.no-such-queue' }] as unknown as OutboxConsumer[];
  await expect(relayOutbox(h.db, broken)).rejects.toThrow(/division by zero/);
  expect(await relayedTo(ALL)).toEqual([]);
  await relayAll();
  expect(await relayedTo(ALL)).toEqual(ids);
  await clearJobs();
});

it('runs as a loop in the worker and stops cleanly', async () => {
  const loop = startOutboxRelay(h.db, consumers, 20);
  try {
    const ids = await write('payment.closed', 2);
    await expect.poll(() => relayedTo(ALL), { timeout: 10_000 }).toEqual(ids);
  } finally {
    await loop.stop();
  }
  await clearJobs();
});
