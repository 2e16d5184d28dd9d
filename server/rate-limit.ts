// Fixed-window rate limits kept in Postgres, so they hold across every web instance. One upsert per hit.
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';

export interface RateLimitResult {
  allowed: boolean;
  count: number;
  retryAfterSeconds: number;
}

export async function hitRateLimit(db: DbOrTx, key: string, opts: { limit: number; windowSeconds: number }): Promise<RateLimitResult> {
  const window = `${opts.windowSeconds} seconds`;
  const rows = await db.execute<{ count: number; window_start: Date | string }>(sql`
    insert into rate_limits (key, window_start, count) values (${key}, now(), 1)
    on conflict (key) do update set
      count = case when rate_limits.window_start <= now() - ${window}::interval then 1 else rate_limits.count + 1 end,
      window_start = case when rate_limits.window_start <= now() - ${window}::interval then now() else rate_limits.window_start end
    returning count, window_start`);
  const row = rows[0];
  if (!row) throw new Error('rate limit upsert returned no row');
  const started = new Date(row.window_start).getTime();
  const retryAfterSeconds = Math.max(1, Math.ceil((started + opts.windowSeconds * 1000 - Date.now()) / 1000));
  return { allowed: row.count <= opts.limit, count: row.count, retryAfterSeconds };
}
