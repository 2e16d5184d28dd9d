// When a failed delivery is tried again: Svix's schedule (over 3 days), each delay times
// WEBHOOK_RETRY_SCALE and spread by ±10% jitter so endpoints that failed together do not retry together.
export const RETRY_SCHEDULE_SECONDS = [0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600, 24 * 3600, 24 * 3600] as const;
/** Attempts in all: the first, then one per remaining entry. */
export const MAX_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length;
/** A Retry-After larger than this is capped (a receiver cannot park a delivery for weeks). */
const MAX_RETRY_AFTER_SECONDS = 24 * 3600;

/** Delay before attempt `next` (2…MAX_ATTEMPTS), in ms; null when the schedule is over. */
export function retryDelayMs(next: number, scale: number, retryAfterSeconds: number | null, random: () => number = Math.random): number | null {
  const base = RETRY_SCHEDULE_SECONDS[next - 1];
  if (base === undefined) return null;
  const jittered = base * scale * 1000 * (0.9 + 0.2 * random());
  const asked = retryAfterSeconds === null ? 0 : Math.min(retryAfterSeconds, MAX_RETRY_AFTER_SECONDS) * 1000;
  return Math.round(Math.max(jittered, asked));
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
