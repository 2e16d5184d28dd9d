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
/** `2026-11-26 17:30:15 +08:00`, labelled with its offset so nobody reads it as local time. */
export const bj = (d: Date | null) => (d ? `${new Date(d.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ')} +08:00` : null);
export const utc = (d: Date | null) => (d ? d.toISOString() : null);

/** What an export writes: its header, how many rows match (capped), and the rows as CSV lines in batches. */
export interface ExportSource {
  header: readonly string[];
  count(cap: number): Promise<{ count: number; capped: boolean }>;
  batches(): AsyncIterable<string[]>;
}
