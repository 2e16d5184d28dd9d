// Errors that repeat during an outage (pg-boss emits one per poll and per worker while the database is
// down: thousands of lines a minute) are logged once per cause per interval, with a count of how many
// were left out. A cause is the error's code or name plus its message with numbers taken out, so
// "connect ECONNREFUSED 127.0.0.1:54329" from every pool connection is one cause.
import { errorFields, type Logger } from './log';

export function causeOf(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : typeof err;
  const message = typeof e?.message === 'string' ? e.message : errorFields(err).err.message;
  return `${code}: ${message.replace(/\d+/g, '#').slice(0, 200)}`;
}

export function throttledErrorLog(logger: Logger, message: string, intervalMs = 60_000, now: () => number = Date.now): (err: unknown) => void {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (err) => {
    const cause = causeOf(err);
    const t = now();
    const entry = seen.get(cause);
    if (entry && t - entry.at < intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    seen.set(cause, { at: t, suppressed: 0 });
    if (seen.size > 100) seen.delete(seen.keys().next().value as string); // bounded: causes are few, but never unbounded
    logger.error({ ...errorFields(err), ...(suppressed ? { suppressed, intervalMs } : {}) }, message);
  };
}

/**
 * The general form, for causes that are not errors (a rejection reason): `emit` runs for the first
 * occurrence of a cause in each interval, with how many repeats of it the previous interval folded in.
 */
export function throttled(intervalMs: number, emit: (cause: string, repeats: number) => void, now: () => number = Date.now): (cause: string) => void {
  const seen = new Map<string, { at: number; repeats: number }>();
  return (cause) => {
    const t = now();
    const entry = seen.get(cause);
    if (entry && t - entry.at < intervalMs) {
      entry.repeats++;
      return;
    }
    seen.set(cause, { at: t, repeats: 0 });
    if (seen.size > 100) seen.delete(seen.keys().next().value as string);
    emit(cause, entry?.repeats ?? 0);
  };
}
