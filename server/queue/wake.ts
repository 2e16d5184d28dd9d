// Waking the job workers after a commit, outside the transaction that made the job.
//
// A NOTIFY inside a transaction makes its commit take a global lock until the commit record is flushed,
// so notifying transactions cannot share a flush (docs/benchmarks.md measures what that cost the notify
// ingestion). The ingestion therefore commits its job without a NOTIFY and wakes the workers right after,
// once for all the commits of one turn of the event loop, with synchronous_commit off: a wake-up needs
// no flush. Nothing is lost if a wake-up is: the job is committed, and the workers poll as a backstop.
import type postgres from 'postgres';
import { log } from '@/server/log';
import { throttled } from '@/server/throttled-log';
import { WAKE_CHANNEL_SQL } from './insert-job';

/**
 * Runs `run` after one or more `request()` calls: all the requests of one turn of the event loop share one
 * run, and a request made while a run is in flight gets a run of its own after it, so every request is
 * followed by a run that started after it.
 */
export function coalescer(run: () => Promise<void>): { request(): void } {
  let wanted = false;
  let running = false;
  const loop = async () => {
    running = true;
    try {
      while (wanted) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        wanted = false;
        await run().catch(() => {}); // `run` reports its own failures; the loop must outlive them
      }
    } finally {
      running = false;
    }
  };
  return {
    request() {
      wanted = true;
      if (!running) void loop();
    },
  };
}

const WAKE = `select set_config('synchronous_commit', 'off', true), pg_notify(${WAKE_CHANNEL_SQL}, $1)`;
const NOTIFY = `select set_config('synchronous_commit', 'off', true), pg_notify($1, $2)`;
const wakers = new WeakMap<postgres.Sql, Map<string, { request(): void }>>();
const warn = throttled(10_000, (message, repeats) => log('queue').warn({ cause: message, repeats }, 'could not wake the workers (they will poll)'));

/** One coalesced NOTIFY per (pool, key): `args` for `statement`, sent soon after the caller's commit. */
function notifySoon(sql: postgres.Sql, key: string, statement: string, args: string[]): void {
  let byKey = wakers.get(sql);
  if (!byKey) wakers.set(sql, (byKey = new Map()));
  let waker = byKey.get(key);
  if (!waker) {
    waker = coalescer(async () => {
      await sql.unsafe(statement, args, { prepare: true }).catch((err: unknown) => warn(err instanceof Error ? err.message : String(err)));
    });
    byKey.set(key, waker);
  }
  waker.request();
}

/** Wakes `queue`'s workers soon after the caller's commit, coalesced with the other commits of this process. */
export function wakeAfterCommit(sql: postgres.Sql, queue: string): void {
  notifySoon(sql, `queue:${queue}`, WAKE, [queue]);
}

/** NOTIFY on a channel of our own (e.g. webhook deliveries due) soon after the caller's commit, coalesced the same way. */
export function notifyAfterCommit(sql: postgres.Sql, channel: string): void {
  notifySoon(sql, `channel:${channel}`, NOTIFY, [channel, '']);
}
