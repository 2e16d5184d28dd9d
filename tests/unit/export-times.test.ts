// The export's Beijing times are computed by shifting the instant (no Intl per row): they must equal what
// an Asia/Shanghai formatter says, across midnights, month and year ends, and leap days. Its times and
// amounts are formatted by arithmetic (a million rows at a time): the same text as toISOString and toFixed.
import { expect, it } from 'vitest';
import { bj, utc, yuan } from '@/server/console/csv';

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

it('utc and bj write what toISOString writes, the day cache included', () => {
  const instants = [0, -1, -86_400_000, 951_782_400_000, 253_402_300_799_999, -62_198_755_200_000, 1_764_000_000_123].map((t) => new Date(t));
  // Every ~37 min (odd seconds and milliseconds) over two years, forwards then backwards through the cache.
  for (let t = Date.UTC(2025, 11, 1, 0, 0, 0, 7); t < Date.UTC(2027, 11, 1); t += 2_221_333) instants.push(new Date(t));
  for (const d of [...instants, ...[...instants].reverse()]) {
    expect(utc(d)).toBe(d.toISOString());
    const shifted = new Date(d.getTime() + 8 * 3_600_000).toISOString();
    // (Four-digit years: the slices below assume them.)
    if (/^\d{4}-/.test(shifted)) expect(bj(d)).toBe(`${shifted.slice(0, 10)} ${shifted.slice(11, 19)} +08:00`);
  }
  expect(utc(null)).toBeNull();
  expect(() => utc(new Date(Number.NaN))).toThrow(RangeError);
  expect(() => bj(new Date(Number.NaN))).toThrow(RangeError);
});

it('yuan writes what (fen / 100).toFixed(2) writes', () => {
  const amounts = [0, 1, 9, 10, 99, 100, 101, 105, 999, 1005, 6900, 123_456_789, 9_007_199_254_740_991, -1, -5, -100, -12_345];
  for (let fen = 0; fen < 100_000; fen += 7) amounts.push(fen);
  for (const fen of amounts) expect(yuan(fen), String(fen)).toBe((fen / 100).toFixed(2));
});
