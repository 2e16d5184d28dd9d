// A queue's planner statistics are refreshed after a burst: the analyzer runs ANALYZE on the queue's own job
// table once enough jobs have gone through, never twice at once and not again before its interval.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { QUEUE } from '@/server/queue/catalogue';
import { analyzeQueueTable, burstAnalyzer } from '@/server/queue/statistics';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, ownDatabase: true });
});
afterAll(async () => {
  await h?.close();
});

async function analyzeCount(): Promise<number> {
  const [q] = await h.db.execute<{ table_name: string }>(sql`select table_name from pgboss.queue where name = ${QUEUE.webhooksDeliver}`);
  const [r] = await h.db.execute<{ n: number }>(
    sql`select (coalesce(analyze_count, 0) + coalesce(autoanalyze_count, 0))::int as n from pg_stat_user_tables where schemaname = 'pgboss' and relname = ${q!.table_name}`,
  );
  return r?.n ?? 0;
}

it('analyzes the delivery queue’s job table after a burst, then waits its interval', async () => {
  expect(await analyzeQueueTable(h.db, QUEUE.webhooksDeliver)).toBe(true);
  const start = await eventually(async () => {
    const n = await analyzeCount();
    return n > 0 && n;
  });
  let clock = 0;
  const a = burstAnalyzer(h.db, QUEUE.webhooksDeliver, { rows: 10, minIntervalMs: 1000, now: () => clock });
  a.inserted(9); // below the burst size: nothing
  clock = 5000;
  a.inserted(1); // the tenth: analyzes
  const after = await eventually(async () => {
    const n = await analyzeCount();
    return n > start && n;
  });
  expect(after).toBe(start + 1);
  a.inserted(50); // a burst again, but within the interval: nothing
  clock = 5500;
  a.inserted(50);
  clock = 7000;
  a.inserted(10); // past the interval: analyzes again
  await eventually(async () => (await analyzeCount()) === start + 2);
});
