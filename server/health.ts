// Health: can we reach Postgres, and is the queue schema there and answering.
import { sql } from 'drizzle-orm';
import { getDb } from '@/db/client';
import { loadEnv } from './env';

interface Check {
  ok: boolean;
  latencyMs?: number;
  error?: string;
}

async function timed(fn: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 2000))]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    // Name the failure without echoing connection strings or credentials.
    return { ok: false, error: err instanceof Error ? err.message.replace(/postgres(ql)?:\/\/\S+/g, '<database>') : 'failed' };
  }
}

export async function checkHealth() {
  const db = getDb();
  const database = await timed(() => db.execute(sql`select 1`));
  const queue = await timed(async () => {
    const rows = await db.execute(sql`select count(*)::int as queues from pgboss.queue`);
    if (!rows.length) throw new Error('queue schema missing');
  });
  return {
    ok: database.ok && queue.ok,
    mode: loadEnv().wechatpayMode,
    /** Whether this process runs the job worker (`npm start` runs it as a process of its own). */
    workerInProcess: loadEnv().RUN_WORKER,
    database,
    queue,
  };
}
