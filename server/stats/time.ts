// Buckets in Asia/Shanghai. China has had no DST since 1991, so Beijing hours are UTC hours and a Beijing
// day is [D-1 16:00Z, D 16:00Z): plain arithmetic, never the process time zone.
const HOUR = 3_600_000;
const OFFSET = 8 * HOUR;

export const HOUR_MS = HOUR;
export const DAY_MS = 24 * HOUR;

/**
 * The unit the rollups recompute (stats_slices): small, so a recompute reads a minute's rows however full
 * its hour. A divisor of an hour, fixed in code: changing it means recomputing the stats tables.
 */
export const SLICE_MS = 60_000;
if (HOUR % SLICE_MS) throw new Error('SLICE_MS must divide an hour');

export function hourStart(t: Date): Date {
  return new Date(Math.floor(t.getTime() / HOUR) * HOUR);
}

export function sliceStart(t: Date): Date {
  return new Date(Math.floor(t.getTime() / SLICE_MS) * SLICE_MS);
}

/** The Beijing date (YYYY-MM-DD) of an instant. */
export function beijingDay(t: Date): string {
  return new Date(t.getTime() + OFFSET).toISOString().slice(0, 10);
}

/** The instant a Beijing date starts. */
export function dayStart(day: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`not a date: ${day}`);
  return new Date(Date.parse(`${day}T00:00:00Z`) - OFFSET);
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 24 * HOUR).toISOString().slice(0, 10);
}

/** Every date from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}
