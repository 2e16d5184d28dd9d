// Strict on what we send (WeChat rejects extras, nulls, emoji, bad amounts), loose on what we receive.
import { describe, expect, it } from 'vitest';
import { NativePrepayRequest, NotificationEnvelope, Transaction, WechatPayErrorBody } from '../../server/wechatpay/schemas';

const prepay = {
  appid: 'wxd678efh567hg6787',
  mchid: '1234567891',
  description: 'Image形象店-深圳腾大-QQ公仔',
  out_trade_no: '1217752501201407033233368018',
  notify_url: 'https://www.weixin.qq.com/wxpay/pay.php',
  amount: { total: 100, currency: 'CNY' as const },
};

describe('NativePrepayRequest', () => {
  it('accepts the reference request, with optional time_expire and attach', () => {
    expect(NativePrepayRequest.safeParse(prepay).success).toBe(true);
    expect(NativePrepayRequest.safeParse({ ...prepay, time_expire: '2018-06-08T10:34:56+08:00', attach: 'order 42' }).success).toBe(true);
  });

  it.each([
    ['amount 0', { amount: { total: 0, currency: 'CNY' } }],
    ['fractional amount', { amount: { total: 1.5, currency: 'CNY' } }],
    ['amount as string', { amount: { total: '100', currency: 'CNY' } }],
    ['other currency', { amount: { total: 100, currency: 'USD' } }],
    ['out_trade_no too short', { out_trade_no: '12345' }],
    ['out_trade_no too long', { out_trade_no: 'x'.repeat(33) }],
    ['out_trade_no with "/"', { out_trade_no: 'abc/def' }],
    ['emoji in description', { description: 'coffee ☕ 🍩' }],
    ['description over 127 chars', { description: 'x'.repeat(128) }],
    ['notify_url with query', { notify_url: 'https://shop.example/notify?x=1' }],
    ['relative notify_url', { notify_url: '/api/wechatpay/notify' }],
    ['time_expire without offset', { time_expire: '2018-06-08T10:34:56' }],
    ['null attach', { attach: null }],
    ['unknown field', { goods_tagx: 'x' }],
  ])('rejects %s', (_name, patch) => {
    expect(NativePrepayRequest.safeParse({ ...prepay, ...patch }).success).toBe(false);
  });
});

describe('Transaction', () => {
  it('parses a NOTPAY answer without transaction_id, payer, success_time (§4.1 capture)', () => {
    const notpay = {
      amount: { payer_currency: 'CNY', total: 1 },
      appid: 'wxd678efh567hg6787',
      mchid: '1234567891',
      out_trade_no: 'SP20260101000001',
      promotion_detail: [],
      scene_info: { device_id: '' },
      trade_state: 'NOTPAY',
      trade_state_desc: '订单未支付',
    };
    const r = Transaction.safeParse(notpay);
    expect(r.success).toBe(true);
    expect(r.data?.transaction_id).toBeUndefined();
    expect(r.data?.trade_state).toBe('NOTPAY');
  });

  it('keeps unknown fields and tolerates an unknown trade_state and nulls', () => {
    const r = Transaction.safeParse({ out_trade_no: 'SP20260101000001', trade_state: 'SOMETHING_NEW', bank_type: null, extra: { a: 1 } });
    expect(r.success).toBe(true);
    expect(r.data?.trade_state).toBe('SOMETHING_NEW');
    expect(r.data?.bank_type).toBeUndefined();
    expect((r.data as Record<string, unknown>).extra).toEqual({ a: 1 });
  });

  it('still requires out_trade_no and trade_state, and integer amounts', () => {
    expect(Transaction.safeParse({ trade_state: 'SUCCESS' }).success).toBe(false);
    expect(Transaction.safeParse({ out_trade_no: 'SP20260101000001' }).success).toBe(false);
    expect(Transaction.safeParse({ out_trade_no: 'SP20260101000001', trade_state: 'SUCCESS', amount: { total: '1' } }).success).toBe(false);
  });
});

describe('NotificationEnvelope and WechatPayErrorBody', () => {
  it('requires the fields decryption and the inbox need', () => {
    const resource = { algorithm: 'AEAD_AES_256_GCM', ciphertext: 'abc=', nonce: 'abcdefghijkl', original_type: 'transaction' };
    expect(NotificationEnvelope.safeParse({ id: 'EV-1', event_type: 'TRANSACTION.SUCCESS', resource }).success).toBe(true);
    expect(NotificationEnvelope.safeParse({ event_type: 'TRANSACTION.SUCCESS', resource }).success).toBe(false);
    expect(NotificationEnvelope.safeParse({ id: 'EV-1', event_type: 'X', resource: { ...resource, nonce: undefined } }).success).toBe(false);
  });

  it('parses {code, message, detail}', () => {
    const r = WechatPayErrorBody.safeParse({ code: 'PARAM_ERROR', message: '参数错误', detail: { field: '/amount/currency', location: 'body' } });
    expect(r.success && r.data.code).toBe('PARAM_ERROR');
    expect(WechatPayErrorBody.safeParse({ message: 'no code' }).success).toBe(false);
  });
});
