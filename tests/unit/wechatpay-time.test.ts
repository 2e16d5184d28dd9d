import { describe, expect, it } from 'vitest';
import { formatRfc3339Shanghai, isRfc3339, parseRfc3339 } from '../../server/wechatpay/time';

describe('formatRfc3339Shanghai', () => {
  it('writes Beijing wall-clock time with +08:00 and no milliseconds', () => {
    expect(formatRfc3339Shanghai(new Date('2026-11-26T14:21:24.999Z'))).toBe('2026-11-26T22:21:24+08:00');
  });

  it('rolls the date over at 16:00 UTC', () => {
    expect(formatRfc3339Shanghai(new Date('2026-12-31T16:00:00Z'))).toBe('2027-01-01T00:00:00+08:00');
    expect(formatRfc3339Shanghai(new Date('2026-12-31T15:59:59Z'))).toBe('2026-12-31T23:59:59+08:00');
  });

  it('does not depend on the process time zone', () => {
    const before = process.env.TZ;
    try {
      for (const tz of ['UTC', 'America/Los_Angeles', 'Asia/Shanghai', 'Pacific/Kiritimati']) {
        process.env.TZ = tz;
        expect(formatRfc3339Shanghai(new Date(Date.UTC(2018, 5, 8, 2, 34, 56)))).toBe('2018-06-08T10:34:56+08:00');
      }
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it('round-trips through parseRfc3339 at second precision', () => {
    const d = new Date('2026-03-01T00:00:00Z');
    expect(parseRfc3339(formatRfc3339Shanghai(d)).getTime()).toBe(d.getTime());
  });

  it('rejects an invalid Date', () => {
    expect(() => formatRfc3339Shanghai(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('parseRfc3339', () => {
  const instant = Date.UTC(2018, 5, 8, 2, 34, 56);
  it.each([
    ['2018-06-08T10:34:56+08:00', instant],
    ['2018-06-08T10:34:56.123+08:00', instant + 123],
    ['2018-06-08T02:34:56Z', instant],
    ['2018-06-08T02:34:56.5Z', instant + 500],
    ['2018-06-07T21:34:56-05:00', instant],
    ['2018-06-08T02:34:56.123456789Z', instant + 123],
  ])('parses %s', (s, expected) => {
    expect(parseRfc3339(s).getTime()).toBe(expected);
  });

  it.each([
    '2018-06-08T10:34:56', // no offset: ambiguous, would follow the process time zone in new Date()
    '2018-06-08 10:34:56+08:00',
    '2018-02-30T10:00:00+08:00',
    '2018-13-01T10:00:00+08:00',
    '2018-06-08T24:00:00+08:00',
    '2018-06-08T10:34:60+08:00',
    '2018-06-08T10:34:56+0800',
    '1554208460',
    '',
  ])('rejects %j', (s) => {
    expect(() => parseRfc3339(s)).toThrow(RangeError);
    expect(isRfc3339(s)).toBe(false);
  });

  it('accepts 29 February only in leap years', () => {
    expect(isRfc3339('2028-02-29T00:00:00+08:00')).toBe(true);
    expect(isRfc3339('2027-02-29T00:00:00+08:00')).toBe(false);
  });
});
