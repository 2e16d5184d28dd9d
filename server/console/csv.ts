// CSV cells and times as every console export writes them (orders, audit log).
const DANGEROUS = /^[=+\-@\t\r]/;
/** One CSV cell: a leading = + - @ tab or CR gets a ' (no spreadsheet formula), then RFC 4180 quoting. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const guarded = DANGEROUS.test(value) ? `'${value}` : value;
  return guarded.includes('"') ? `"${guarded.replace(/"/g, '""')}"` : `"${guarded}"`;
}

// Beijing has kept UTC+8 without daylight saving since 1991: shifting the instant is exact, and far cheaper
// per row than an Intl formatter (an export writes two Beijing times per row, a million rows at a time).
const BEIJING_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

// An export formats four times per row; toISOString for each was a tenth of its CPU profile. The day's
// text comes from toISOString once per day (rows come in time order, so a few days cover a page) and the
// time of day is arithmetic: the same text (tests/unit/export-times.test.ts).
const days = new Map<number, string>();
function dayText(day: number): string {
  let text = days.get(day);
  if (text === undefined) {
    if (days.size >= 4096) days.clear();
    const iso = new Date(day * DAY_MS).toISOString();
    text = iso.slice(0, iso.indexOf('T'));
    days.set(day, text);
  }
  return text;
}

/** `YYYY-MM-DD`, `HH:MM:SS` and the milliseconds of an instant in UTC, as toISOString writes them. */
function parts(t: number, withMs: boolean): string {
  const day = Math.floor(t / DAY_MS);
  let rest = t - day * DAY_MS;
  const ms = rest % 1000;
  rest = (rest - ms) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  const hms = `${PAD2[hour]}:${PAD2[min]}:${PAD2[sec]}`;
  return withMs ? `${dayText(day)}T${hms}.${PAD3[ms]}Z` : `${dayText(day)} ${hms}`;
}

/** `2026-11-26 17:30:15 +08:00`, labelled with its offset so nobody reads it as local time. */
export const bj = (d: Date | null): string | null => {
  if (!d) return null;
  const t = d.getTime();
  // An invalid date throws as toISOString does.
  if (!Number.isFinite(t)) return d.toISOString();
  return `${parts(t + BEIJING_OFFSET_MS, false)} +08:00`;
};
/** toISOString's text. */
export const utc = (d: Date | null): string | null => {
  if (!d) return null;
  const t = d.getTime();
  if (!Number.isFinite(t)) return d.toISOString();
  return parts(t, true);
};

/** Fen as yuan with two decimals: what `(fen / 100).toFixed(2)` writes, by integer arithmetic (a million rows, three amounts each). */
export function yuan(fen: number): string {
  const abs = Math.abs(fen);
  const cents = abs % 100;
  const text = `${(abs - cents) / 100}.${cents < 10 ? '0' : ''}${cents}`;
  return fen < 0 ? `-${text}` : text;
}

/** What an export writes: its header, how many rows match (capped), and the rows as CSV lines in batches. */
export interface ExportSource {
  header: readonly string[];
  count(cap: number): Promise<{ count: number; capped: boolean }>;
  batches(): AsyncIterable<string[]>;
}
