// Pure parts of the simulator: RFC 3339 parsing, body rules, id shapes, amount display.
import { describe, expect, it } from 'vitest';
import { beijingTime, newCodeUrl, newOpenid, newTransactionId } from '../../simulator/ids';
import { formatYuan } from '../../simulator/phone-page';
import type { SimApiError } from '../../simulator/errors';
import { closeSchema, parseBody, parseRfc3339 } from '../../simulator/schemas';

describe('parseRfc3339', () => {
  it('accepts the forms WeChat lists', () => {
    const at = Date.UTC(2018, 5, 8, 2, 34, 56);
    expect(parseRfc3339('2018-06-08T10:34:56+08:00')).toBe(at);
    expect(parseRfc3339('2018-06-08T10:34:56.000+08:00')).toBe(at);
    expect(parseRfc3339('2018-06-08T02:34:56Z')).toBe(at);
    expect(parseRfc3339('2018-06-08T02:34:56.250Z')).toBe(at + 250);
    expect(parseRfc3339('2018-06-07T21:34:56-05:00')).toBe(at);
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
  });

  it.each([
    '2018-02-30T10:00:00+08:00',
    '2023-02-29T00:00:00Z',
    '2018-06-08 10:34:56+08:00',
    '2018-06-08T10:34:56',
    '2018-06-08T24:00:00Z',
    '2018-13-01T00:00:00Z',
    '1528425296',
  ])('rejects %s', (value) => expect(parseRfc3339(value)).toBeNull());
});

describe('parseBody', () => {
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  const fail = (raw: Buffer): SimApiError => {
    try {
      parseBody(raw, closeSchema);
    } catch (err) {
      return err as SimApiError;
    }
    throw new Error('expected a rejection');
  };

  it('parses a valid body', () => expect(parseBody(bytes('{"mchid":"1900000001"}'), closeSchema)).toEqual({ mchid: '1900000001' }));

  it('names the unknown field (WeChat 270924358)', () => {
    const err = fail(bytes('{"mchid":"1","x":1}'));
    expect(err).toMatchObject({ status: 400, code: 'PARAM_ERROR', internalCode: 270924358, detail: { field: '/x' } });
  });

  it('rejects null, 4-byte characters, malformed UTF-8 and non-JSON', () => {
    expect(fail(bytes('{"mchid":null}')).detail?.field).toBe('/mchid');
    expect(fail(bytes('{"mchid":"1😀"}')).detail?.field).toBe('/mchid');
    expect(fail(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])).code).toBe('PARAM_ERROR');
    expect(fail(bytes('mchid=1')).code).toBe('PARAM_ERROR');
  });
});

describe('ids and display', () => {
  it('shapes ids like WeChat', () => {
    const now = new Date(Date.UTC(2023, 4, 6, 7, 17, 31));
    expect(beijingTime(now)).toBe('2023-05-06T15:17:31+08:00');
    expect(newTransactionId(now)).toMatch(/^4200\d{6}20230506\d{10}$/);
    expect(newCodeUrl()).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]{10}$/);
    expect(newOpenid()).toMatch(/^o[A-Za-z0-9_-]{27}$/);
  });

  it('formats fen as yuan without floating point', () => {
    expect(formatYuan(1234)).toBe('¥12.34');
    expect(formatYuan(1)).toBe('¥0.01');
    expect(formatYuan(100)).toBe('¥1.00');
    expect(formatYuan(123456789)).toBe('¥1234567.89');
  });
});
