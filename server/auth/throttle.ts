// Sign-in throttling kept in Postgres (so it holds across web processes and restarts): failures are
// counted per account and per client IP in a fixed window; reaching the limit locks the key for a while.
import { inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { authThrottle } from '@/db/schema';

export interface ThrottleConfig {
  maxAccountFailures: number;
  maxIpFailures: number;
  windowMs: number;
  lockMs: number;
}

export const accountKey = (email: string) => `email:${email.trim().toLowerCase()}`;
export const ipKey = (ip: string) => `ip:${ip}`;

function keys(email: string | null, ip: string | null): string[] {
  return [email ? accountKey(email) : null, ip ? ipKey(ip) : null].filter((k): k is string => k !== null);
}

/** The latest lock still in force for this account or IP, if any. */
export async function lockedUntil(db: DbOrTx, email: string | null, ip: string | null, now = new Date()): Promise<Date | null> {
  const k = keys(email, ip);
  if (k.length === 0) return null;
  const rows = await db.select({ lockedUntil: authThrottle.lockedUntil }).from(authThrottle).where(inArray(authThrottle.key, k));
  const until = rows
    .map((r) => r.lockedUntil)
    .filter((d): d is Date => d !== null && d > now)
    .sort((a, b) => b.getTime() - a.getTime());
  return until[0] ?? null;
}

/** Counts one failed sign-in for the account and the IP; locks whichever reached its limit. */
export async function recordFailure(db: DbOrTx, email: string | null, ip: string | null, cfg: ThrottleConfig, now = new Date()): Promise<void> {
  const entries: Array<[string, number]> = [];
  if (email) entries.push([accountKey(email), cfg.maxAccountFailures]);
  if (ip) entries.push([ipKey(ip), cfg.maxIpFailures]);
  // ISO strings: postgres.js does not take Date parameters in drizzle's raw `sql`.
  const windowStartCutoff = sql`${new Date(now.getTime() - cfg.windowMs).toISOString()}::timestamptz`;
  const lockUntil = sql`${new Date(now.getTime() + cfg.lockMs).toISOString()}::timestamptz`;
  const at = sql`${now.toISOString()}::timestamptz`;
  for (const [key, max] of entries) {
    // One statement: a window that has passed (or a lock that has expired) starts again from 1.
    await db.execute(sql`
      insert into auth_throttle (key, failures, window_start, locked_until)
      values (${key}, 1, ${at}, case when 1 >= ${max}::int then ${lockUntil} end)
      on conflict (key) do update set
        failures = case when auth_throttle.window_start < ${windowStartCutoff} or auth_throttle.locked_until <= ${at}
                        then 1 else auth_throttle.failures + 1 end,
        window_start = case when auth_throttle.window_start < ${windowStartCutoff} or auth_throttle.locked_until <= ${at}
                            then ${at} else auth_throttle.window_start end,
        locked_until = case
          when auth_throttle.locked_until > ${at} then auth_throttle.locked_until
          when (case when auth_throttle.window_start < ${windowStartCutoff} or auth_throttle.locked_until <= ${at}
                     then 1 else auth_throttle.failures + 1 end) >= ${max}::int then ${lockUntil}
          else null end`);
  }
}

/** A successful sign-in clears the account's count (not the IP's: one good password must not unlock a spraying IP). */
export async function recordSuccess(db: DbOrTx, email: string): Promise<void> {
  await db.delete(authThrottle).where(inArray(authThrottle.key, [accountKey(email)]));
}
