// The export's Beijing times are computed by shifting the instant (no Intl per row): they must equal what
// an Asia/Shanghai formatter says, across midnights, month and year ends, and leap days.
import { expect, it } from 'vitest';
import { bj } from '@/server/console/csv';

const formatter = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

it('equals the Asia/Shanghai wall clock for every instant tried', () => {
  const instants = [
    '2026-12-01T15:59:59.999Z',
    '2026-12-01T16:00:00.000Z',
    '2026-12-31T16:00:00.000Z',
    '2028-02-28T16:30:00.000Z',
    '1992-06-01T00:00:00.000Z',
  ].map((s) => new Date(s));
  for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 7_919_000) instants.push(new Date(t)); // every ~2.2 h over a year
  for (const d of instants) expect(bj(d)).toBe(`${formatter.format(d)} +08:00`);
  expect(bj(null)).toBeNull();
});
