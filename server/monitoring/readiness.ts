// Readiness = health (database, queue schema) + queue lag: the oldest ready job of the payment queues.
// A lag over READY_MAX_QUEUE_LAG_SECONDS means workers are missing or stuck: take traffic elsewhere.
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import type { AppEnv } from '@/server/env';
import { checkHealth, describeFailure } from '@/server/health';

export async function checkReadiness(deps: { db: Db; env: AppEnv }) {
  const health = await checkHealth(deps);
  let queueLag: { ok: boolean; oldestReadySeconds?: number; queue?: string | null; error?: string };
  try {
    const rows = (await deps.db.execute(sql`
      select name, extract(epoch from now() - min(start_after))::int as lag from pgboss.job
      where name like 'payment.%' and name not like '%.dead' and state in ('created', 'retry') and start_after <= now()
      group by name order by lag desc limit 1`)) as unknown as { name: string; lag: number }[];
    const worst = rows[0];
    const lag = worst?.lag ?? 0;
    queueLag = { ok: lag <= deps.env.READY_MAX_QUEUE_LAG_SECONDS, oldestReadySeconds: lag, queue: worst?.name ?? null };
  } catch (err) {
    queueLag = { ok: false, error: describeFailure(err) };
  }
  return { ok: health.ok && queueLag.ok, database: health.database, queue: health.queue, queueLag };
}
