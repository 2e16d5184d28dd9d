// RFC 3339 times as WeChat Pay writes and reads them (reference §0: `yyyy-MM-DDTHH:mm:ss+08:00`, also
// with `.SSS` and/or `Z`). WeChat's own examples and captures always carry +08:00, and `time_expire` is
// compared by humans against Beijing time, so we always *write* +08:00 — computed arithmetically, never
// through the process time zone, so a server running in UTC (or anywhere) produces the same string.

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000; // China has had no DST since 1991: a fixed offset is exact.

/** `2026-11-26T22:21:24+08:00`: whole seconds (milliseconds truncated), always +08:00. */
export function formatRfc3339Shanghai(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('formatRfc3339Shanghai: invalid Date');
  // Shift the instant by +8 h and read it back as UTC: the UTC fields are then the Shanghai wall clock.
  const iso = new Date(ms + SHANGHAI_OFFSET_MS).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  if (iso.length !== 24) throw new RangeError('formatRfc3339Shanghai: year outside 0000–9999');
  return `${iso.slice(0, 19)}+08:00`;
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 date-time with a mandatory offset (`Z` or `±HH:MM`) and optional fraction.
 * Stricter than `new Date(string)` on purpose: that also accepts offset-less strings (interpreted in the
 * process time zone) and rolls over impossible dates such as Feb 30. Throws RangeError when invalid.
 */
export function parseRfc3339(s: string): Date {
  const m = RFC3339_RE.exec(s);
  if (!m) throw new RangeError(`not an RFC 3339 date-time: ${JSON.stringify(s.slice(0, 40))}`);
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number);
  const fraction = m[7] ?? '';
  const millis = Number((fraction + '000').slice(0, 3)); // sub-millisecond digits are dropped
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  // Leap seconds (ss = 60) are rejected: JavaScript time cannot represent them and WeChat never sends them.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw new RangeError(`not an RFC 3339 date-time: ${JSON.stringify(s.slice(0, 40))}`);
  }
  let offsetMinutes = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw new RangeError(`bad UTC offset in ${JSON.stringify(s.slice(0, 40))}`);
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear afterwards avoids that legacy quirk.
  const d = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  d.setUTCFullYear(year);
  return new Date(d.getTime() - offsetMinutes * 60_000);
}

/** True when `s` is a valid RFC 3339 date-time in the sense of parseRfc3339. */
export function isRfc3339(s: string): boolean {
  try {
    parseRfc3339(s);
    return true;
  } catch {
    return false;
  }
}
