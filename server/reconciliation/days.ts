// Beijing calendar days (WeChat's bill day is 00:00:00–23:59:59 Asia/Shanghai, no daylight saving).
import { z } from 'zod';

const SHANGHAI_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 24 * 3600_000;

export const billDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date is YYYY-MM-DD')
  // 2026-02-30 parses (and rolls over), 2026-13-01 does not parse at all: both are refused, neither throws.
  .refine((s) => {
    const t = Date.parse(`${s}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().startsWith(s);
  }, 'not a calendar date');

/** [start, end) of a Beijing day as instants. */
export function dayBounds(date: string): { from: Date; to: Date } {
  const from = new Date(Date.parse(`${date}T00:00:00Z`) - SHANGHAI_OFFSET_MS);
  return { from, to: new Date(from.getTime() + DAY_MS) };
}

export function beijingDateOf(at: Date): string {
  return new Date(at.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Inclusive list of days from `from` to `to`. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** A bill's `2019-02-19 05:01:46` (Beijing time, as written) as an instant. */
export function parseBillTime(value: string): Date {
  const d = new Date(`${value.trim().replace(' ', 'T')}+08:00`);
  if (Number.isNaN(d.getTime())) throw new Error(`not a bill time: ${value.slice(0, 30)}`);
  return d;
}
