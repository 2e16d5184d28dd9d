// The outbox relay: moves committed outbox events to their consumers' queues, exactly once per consumer.
// One transaction per pass takes unpublished events (skip locked: any number of workers may relay),
// inserts one job per consumer holding the batch's event ids, and marks the events published; a crash
// anywhere rolls all three back. Producers never wait for consumers: the payment path only inserts a row.
import { randomUUID } from 'node:crypto';
import { rawTransaction, type Db } from '@/db/client';
import { log } from '@/server/log';
import { throttledErrorLog } from '@/server/throttled-log';
import { insertJobs } from '@/server/queue/insert-job';
import type { OutboxConsumer } from './consumers';

const TAKE = `
  select id, topic from outbox_events where published_at is null
  order by id limit $1 for update skip locked`;
const PUBLISH = `update outbox_events set published_at = now() where id = any($1::bigint[])`;

/** One pass: relays up to `limit` events. Returns how many it relayed. */
export async function relayOutbox(db: Db, consumers: readonly OutboxConsumer[], limit = 500): Promise<number> {
  return db.transaction(async (tx) => {
    const raw = rawTransaction(tx);
    const events = await raw.unsafe<{ id: string; topic: string }[]>(TAKE, [limit], { prepare: true });
    if (events.length === 0) return 0;
    for (const c of consumers) {
      const ids = events.filter((e) => !c.topics || c.topics.includes(e.topic as never)).map((e) => Number(e.id));
      if (ids.length) await insertJobs(raw, c.queue, [{ id: randomUUID(), data: { version: 1, eventIds: ids } }], true);
    }
    await raw.unsafe(PUBLISH, [events.map((e) => e.id)], { prepare: true });
    return events.length;
  });
}

export interface RelayLoop {
  stop(): Promise<void>;
}

/**
 * Relays in a loop inside a worker process: a pass every `intervalMs`, at once again after a full batch.
 * A failing pass (database away) is logged, throttled by the interval, and retried.
 */
export function startOutboxRelay(db: Db, consumers: readonly OutboxConsumer[], intervalMs: number, limit = 500): RelayLoop {
  const failed = throttledErrorLog(log('outbox-relay'), 'outbox relay pass failed: retrying');
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    let moved = 0;
    try {
      moved = await relayOutbox(db, consumers, limit);
    } catch (err) {
      failed(err);
    }
    if (!stopped) timer = setTimeout(tick, moved >= limit ? 0 : intervalMs);
  };
  const tick = () => {
    running = pass();
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
