// Health: can we reach Postgres, and is the queue schema there and answering. A failure is named by its
// cause (unreachable, timed out, schema missing), never by SQL text or a connection string.
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import type { AppEnv } from './env';

interface Check {
  ok: boolean;
  latencyMs?: number;
  error?: string;
}

const TIMEOUT_MS = 2000;

/** A short, safe description of why a check failed. */
export function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return 'failed';
  const code = (err as { code?: string }).code;
  if (err.message === 'timed out') return 'timed out';
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'ECONNRESET' ||
    code === 'CONNECT_TIMEOUT' ||
    code === 'CONNECTION_CLOSED' ||
    code === 'CONNECTION_ENDED'
  )
    return `database unreachable (${code})`;
  if (code === '57P01' || code === '57P03') return 'database shutting down or starting';
  if (code === '42P01' || code === '3F000') return 'schema missing (migrations not run?)';
  if (code === '28P01' || code === '28000') return 'database refused our credentials';
  return code ? `database error ${code}` : 'failed';
}

async function timed(fn: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([fn(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), TIMEOUT_MS)))]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ok: false, error: describeFailure(err) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(deps: { db: Db; env: AppEnv }) {
  const database = await timed(() => deps.db.execute(sql`select 1`));
  const queue = await timed(() => deps.db.execute(sql`select count(*)::int as queues from pgboss.queue`));
  return {
    ok: database.ok && queue.ok,
    mode: deps.env.wechatpayMode,
    /** Whether this process runs the job worker (`npm start` runs it as a process of its own). */
    workerInProcess: deps.env.RUN_WORKER,
    database,
    queue,
  };
}
