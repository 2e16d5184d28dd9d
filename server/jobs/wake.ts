// Waking the job workers after a commit, outside the transaction that made the job.
//
// pg-boss puts its NOTIFY inside the job's INSERT. Postgres serialises the commits of every transaction
// that notifies: each takes one global lock and keeps it until its commit record is flushed to disk, so
// those commits cannot share a flush. On this 2-core machine that capped notify ingestion at about
// 1,000-1,100 notifications/s for Scanpay and the bare baseline alike, and pg_stat_activity showed the
// ingestion statement waiting on that lock in a fifth of all samples (docs/benchmarks.md). Notify
// ingestion therefore commits without the NOTIFY and sends pg-boss's own wake-up right after, once for
// all the commits of one turn of the event loop, with synchronous_commit off: a wake-up needs no flush.
//
// Nothing is lost if a wake-up is: the job is already committed, and the worker polls as a backstop.
import type postgres from 'postgres';

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

const wakers = new WeakMap<postgres.Sql, Map<string, { request(): void }>>();
let lastWarnedAt = 0;

/**
 * Sends `wakeSql` (pg-boss's `SELECT pg_notify(<channel>, '<queue>')`, see foldIngestStatement) soon after
 * the caller's commit, coalesced with the other commits of this process.
 */
export function wakeAfterCommit(sql: postgres.Sql, wakeSql: string): void {
  let bySql = wakers.get(sql);
  if (!bySql) wakers.set(sql, (bySql = new Map()));
  let waker = bySql.get(wakeSql);
  if (!waker) {
    waker = coalescer(async () => {
      await sql.unsafe(wakeSql, [], { prepare: true }).catch((err: unknown) => {
        if (Date.now() - lastWarnedAt < 10_000) return;
        lastWarnedAt = Date.now();
        console.warn('[jobs] could not wake the workers (they will poll):', err instanceof Error ? err.message : err);
      });
    });
    bySql.set(wakeSql, waker);
  }
  waker.request();
}
