// Planner statistics of a queue's job table, refreshed while a worker works through a burst. pg-boss's group-concurrency
// fetch (webhooks.deliver's per-endpoint cap) is planned from them: when thousands of jobs arrive at once
// (a receiver back from an outage, a flood of payments), autovacuum's analyze can be a minute away, and
// until then the planner, believing the queue nearly empty, reads and sorts every ready job on each fetch
// instead of walking the index — several times the database's work per fetch (docs/benchmarks-webhooks.md).
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { log } from '@/server/log';
import { PGBOSS_SCHEMA } from './insert-job';
import type { QueueName } from './catalogue';

/** ANALYZE of the table holding a queue's jobs (pg-boss keeps several queues in one table, or one apart). */
export async function analyzeQueueTable(db: Db, queue: QueueName): Promise<boolean> {
  const [q] = await db.execute<{ table_name: string }>(sql`select table_name from ${sql.raw(PGBOSS_SCHEMA)}.queue where name = ${queue}`);
  if (!q) return false;
  await db.execute(sql.raw(`analyze ${PGBOSS_SCHEMA}."${q.table_name.replaceAll('"', '""')}"`));
  return true;
}

export interface BurstAnalyzer {
  /** n jobs came and went (a worker's batches): analyze once enough have since the last time (never two at once, nor too often). */
  inserted(n: number): void;
}

export function burstAnalyzer(db: Db, queue: QueueName, opts: { rows?: number; minIntervalMs?: number; now?: () => number } = {}): BurstAnalyzer {
  const rows = opts.rows ?? 2000;
  const minIntervalMs = opts.minIntervalMs ?? 10_000;
  const now = opts.now ?? Date.now;
  let pending = 0;
  let last = Number.NEGATIVE_INFINITY;
  let running = false;
  return {
    inserted(n) {
      pending += n;
      if (running || pending < rows || now() - last < minIntervalMs) return;
      running = true;
      pending = 0;
      last = now();
      analyzeQueueTable(db, queue)
        .catch((err) => log('queue').warn({ queue, err: err instanceof Error ? err.message : String(err) }, 'analyze of the job table failed'))
        .finally(() => {
          running = false;
        });
    },
  };
}
