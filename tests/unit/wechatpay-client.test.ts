// WechatPayClient against a local node:http stand-in for WeChat: it verifies each request's signature with
// the merchant certificate over the raw request-target and raw body bytes (as WeChat does, §1.5), answers
// 401 SIGN_ERROR if that fails, and signs its answers with the platform key — or deliberately doesn't.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayClient, type WechatPayClientOptions } from '../../server/wechatpay/client';
import { parseAuthorization, randomHexNonce, requestMessage, responseMessage, signMessage, verifyMessage } from '../../server/wechatpay/crypto';
import {
  WechatPayApiError,
  type WechatPayError,
  WechatPayNetworkError,
  WechatPayRequestError,
  WechatPayResponseError,
  WechatPayVerificationError,
} from '../../server/wechatpay/errors';
import { WechatPayVerifier } from '../../server/wechatpay/verifier';
import { keys, vectors } from './wechatpay-vectors';

interface Seen {
  method: string;
  target: string;
  headers: IncomingHttpHeaders;
  body: string;
  nonce: string;
}
interface Reply {
  status: number;
  body?: string;
  /** good: platform key; none: no Wechatpay-* headers; probe: SIGNTEST; merchant: signed with the wrong key. */
  sign?: 'good' | 'none' | 'probe' | 'merchant';
  /** Seconds added to the signing timestamp (simulates WeChat's clock being off). */
  skew?: number;
}
type Handler = (req: Seen) => Reply | 'hang';

let server: Server;
let baseUrl: string;
let handler: Handler = () => ({ status: 500 });
let seen: Seen[] = [];
let badSignatures = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const auth = parseAuthorization(req.headers.authorization);
      const valid =
        !!auth &&
        auth.mchid === vectors.mchid &&
        auth.serial_no === vectors.merchant_serial &&
        verifyMessage(keys.merchantPublic, requestMessage(req.method!, req.url!, auth.timestamp, auth.nonce_str, body), auth.signature);
      if (!valid) {
        badSignatures++;
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"code":"SIGN_ERROR","message":"签名错误"}');
        return;
      }
      const s: Seen = { method: req.method!, target: req.url!, headers: req.headers, body, nonce: auth.nonce_str };
      seen.push(s);
      const reply = handler(s);
      if (reply === 'hang') return; // never answer; the client's timeout must fire
      const out = reply.body ?? '';
      const headers: Record<string, string> = { 'Request-ID': `08F78BB5AF0610D302189F99DD5C20BA56F89845-${reply.status < 300 ? 0 : 268435461}` };
      if (out) headers['Content-Type'] = 'application/json; charset=utf-8';
      if ((reply.sign ?? 'good') !== 'none') {
        const ts = String(Math.floor(Date.now() / 1000) + (reply.skew ?? 0));
        const nonce = randomHexNonce();
        const key = reply.sign === 'merchant' ? keys.merchantPrivate : keys.platformPrivate;
        const signature = signMessage(key, responseMessage(ts, nonce, out));
        Object.assign(headers, {
          'Wechatpay-Timestamp': ts,
          'Wechatpay-Nonce': nonce,
          'Wechatpay-Serial': vectors.platform_serial,
          'Wechatpay-Signature': reply.sign === 'probe' ? `WECHATPAY/SIGNTEST/${signature.slice(19)}` : signature,
          'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
        });
      }
      res.writeHead(reply.status, headers).end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  seen = [];
  badSignatures = 0;
  server.closeAllConnections(); // drop connections left hanging by the timeout test
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(options: Partial<WechatPayClientOptions> = {}): WechatPayClient {
  return new WechatPayClient({
    mchid: vectors.mchid,
    appid: vectors.appid,
    merchantSerial: vectors.merchant_serial,
    merchantPrivateKey: keys.merchantPrivate,
    verifier: new WechatPayVerifier([[vectors.platform_serial, keys.platformCertPublic]]),
    baseUrl,
    timeoutMs: 2_000,
    retries: 2,
    retryBaseDelayMs: 5,
    acceptSerial: vectors.platform_serial,
    ...options,
  });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

const prepayParams = {
  description: 'Image形象店-深圳腾大-QQ公仔',
  out_trade_no: '1217752501201407033233368018',
  notify_url: 'https://www.weixin.qq.com/wxpay/pay.php',
  amount: { total: 100, currency: 'CNY' as const },
};
const codeUrl = '{"code_url":"weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}';
const notpay =
  '{"amount":{"payer_currency":"CNY","total":1},"appid":"wxd678efh567hg6787","mchid":"1234567891","out_trade_no":"SP_2026-01|01*x","promotion_detail":[],"scene_info":{"device_id":""},"trade_state":"NOTPAY","trade_state_desc":"订单未支付"}';

describe('WechatPayClient', () => {
  it('nativePrepay: signs and sends the exact body, with the required headers, and returns code_url', async () => {
    handler = () => ({ status: 200, body: codeUrl });
    await expect(client().nativePrepay(prepayParams)).resolves.toEqual({ code_url: 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz' });
    expect(badSignatures).toBe(0);
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe('POST');
    expect(req.target).toBe('/v3/pay/transactions/native');
    // Same bytes as the D1 vector body: appid/mchid first, compact, UTF-8.
    expect(req.body).toBe(vectors.request_post.body);
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toMatch(/^Scanpay\/0\.1 \(node\/\d+\.\d+\.\d+\)$/);
    expect(req.headers['wechatpay-serial']).toBe(vectors.platform_serial);
    expect(parseAuthorization(req.headers.authorization)).toMatchObject({ mchid: vectors.mchid, serial_no: vectors.merchant_serial });
    expect(parseAuthorization(req.headers.authorization)?.timestamp).toMatch(/^\d{10}$/);
  });

  it('nativePrepay: validates input before sending anything', async () => {
    handler = () => ({ status: 200, body: codeUrl });
    const err = await rejection(client().nativePrepay({ ...prepayParams, amount: { total: 0, currency: 'CNY' } }));
    expect(err).toBeInstanceOf(WechatPayRequestError);
    expect((err as WechatPayError).retryable).toBe(false);
    expect(seen).toHaveLength(0);
  });

  it('closeOrder: 204 with an empty body is verified and resolves', async () => {
    handler = () => ({ status: 204 });
    await expect(client().closeOrder('1217752501201407033233368018')).resolves.toBeUndefined();
    expect(seen[0]).toMatchObject({
      method: 'POST',
      target: '/v3/pay/transactions/out-trade-no/1217752501201407033233368018/close',
      body: '{"mchid":"1234567891"}',
    });
  });

  it('closeOrder: an unsigned 204 is rejected', async () => {
    handler = () => ({ status: 204, sign: 'none' });
    const err = await rejection(client().closeOrder('1217752501201407033233368018'));
    expect(err).toBeInstanceOf(WechatPayVerificationError);
    expect(err).toMatchObject({ reason: 'missing_headers', httpStatus: 204, retryable: false });
  });

  it('rejects an unsigned 200 and does not retry it', async () => {
    handler = () => ({ status: 200, body: codeUrl, sign: 'none' });
    const err = await rejection(client().nativePrepay(prepayParams));
    expect(err).toBeInstanceOf(WechatPayVerificationError);
    expect(err).toMatchObject({ reason: 'missing_headers', requestId: '08F78BB5AF0610D302189F99DD5C20BA56F89845-0' });
    expect(seen).toHaveLength(1);
  });

  it('rejects a SIGNTEST-probe-signed 200', async () => {
    handler = () => ({ status: 200, body: codeUrl, sign: 'probe' });
    const err = await rejection(client().nativePrepay(prepayParams));
    expect(err).toBeInstanceOf(WechatPayVerificationError);
    expect(err).toMatchObject({ reason: 'signature_probe' });
  });

  it('rejects a 200 signed with the wrong key, or with a timestamp 10 minutes off', async () => {
    handler = () => ({ status: 200, body: codeUrl, sign: 'merchant' });
    expect(await rejection(client().nativePrepay(prepayParams))).toMatchObject({ reason: 'bad_signature' });
    handler = () => ({ status: 200, body: codeUrl, skew: -600 });
    expect(await rejection(client().nativePrepay(prepayParams))).toMatchObject({ reason: 'stale_timestamp' });
  });

  it('retries a 500 SYSTEM_ERROR with identical body and fresh nonce, then succeeds', async () => {
    let n = 0;
    handler = () => (n++ === 0 ? { status: 500, body: '{"code":"SYSTEM_ERROR","message":"系统繁忙，请稍后重试"}' } : { status: 200, body: codeUrl });
    await expect(client().nativePrepay(prepayParams)).resolves.toEqual({ code_url: 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz' });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.body).toBe(seen[0]!.body);
    expect(seen[1]!.nonce).not.toBe(seen[0]!.nonce);
  });

  it('gives up after `retries` extra attempts and reports the last error', async () => {
    handler = () => ({ status: 429, body: '{"code":"FREQUENCY_LIMITED","message":"频率超限"}' });
    const err = await rejection(client({ retries: 2 }).queryByOutTradeNo('SP20260101000001'));
    expect(err).toBeInstanceOf(WechatPayApiError);
    expect(err).toMatchObject({ httpStatus: 429, code: 'FREQUENCY_LIMITED', retryable: true });
    expect(seen).toHaveLength(3);
  });

  it('does not retry a 400 PARAM_ERROR and exposes code, message, detail and Request-ID', async () => {
    handler = () => ({
      status: 400,
      body: '{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/amount/currency","value":"XYZ","issue":"Currency code is invalid","location":"body"}}',
    });
    const err = await rejection(client().nativePrepay(prepayParams));
    expect(err).toBeInstanceOf(WechatPayApiError);
    expect(err).toMatchObject({
      httpStatus: 400,
      code: 'PARAM_ERROR',
      wechatMessage: '参数错误',
      retryable: false,
      requestId: '08F78BB5AF0610D302189F99DD5C20BA56F89845-268435461',
      detail: { field: '/amount/currency' },
    });
    expect(seen).toHaveLength(1);
  });

  it('handles a non-JSON 502 as a retryable HTTP_502 error without crashing', async () => {
    handler = () => ({ status: 502, body: '<html>Bad Gateway</html>', sign: 'none' });
    const err = await rejection(client({ retries: 0 }).closeOrder('SP20260101000001'));
    expect(err).toBeInstanceOf(WechatPayApiError);
    expect(err).toMatchObject({ httpStatus: 502, code: 'HTTP_502', retryable: true });
    expect((err as Error).message).not.toContain('<html>');
  });

  it('times out each attempt and raises WechatPayNetworkError after the retries', async () => {
    handler = () => 'hang';
    const err = await rejection(client({ timeoutMs: 150, retries: 1 }).queryByOutTradeNo('SP20260101000001'));
    expect(err).toBeInstanceOf(WechatPayNetworkError);
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
    expect(seen).toHaveLength(2); // both attempts were made and each timed out
  });

  it('reports a refused connection as a retryable network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await rejection(client({ baseUrl: `http://127.0.0.1:${port}`, retries: 0 }).queryByOutTradeNo('SP20260101000001'));
    expect(err).toBeInstanceOf(WechatPayNetworkError);
    expect(err).toMatchObject({ kind: 'connection', retryable: true });
  });

  it('queryByOutTradeNo: path-encodes out_trade_no, signs what it sends, and parses a NOTPAY answer', async () => {
    handler = () => ({ status: 200, body: notpay });
    const tx = await client().queryByOutTradeNo('SP_2026-01|01*x');
    expect(badSignatures).toBe(0);
    expect(seen[0]).toMatchObject({ method: 'GET', target: '/v3/pay/transactions/out-trade-no/SP_2026-01%7C01*x?mchid=1234567891', body: '' });
    expect(seen[0]!.headers['content-type']).toBeUndefined();
    expect(tx.trade_state).toBe('NOTPAY');
    expect(tx.transaction_id).toBeUndefined();
    expect(tx.amount?.total).toBe(1);
  });

  it('queryByTransactionId: GET /v3/pay/transactions/id/{id}?mchid=', async () => {
    const paid = JSON.stringify({ ...JSON.parse(notpay), trade_state: 'SUCCESS', transaction_id: '4200000000000000000000000001' });
    handler = () => ({ status: 200, body: paid });
    const tx = await client().queryByTransactionId('4200000000000000000000000001');
    expect(seen[0]!.target).toBe('/v3/pay/transactions/id/4200000000000000000000000001?mchid=1234567891');
    expect(tx).toMatchObject({ trade_state: 'SUCCESS', transaction_id: '4200000000000000000000000001' });
  });

  it('refuses out_trade_no values that would change the path', async () => {
    for (const bad of ['..', '../../v3/refund', 'a b c d e f', '']) {
      expect(await rejection(client().queryByOutTradeNo(bad))).toBeInstanceOf(WechatPayRequestError);
    }
    expect(seen).toHaveLength(0);
  });

  it('a signed 200 that is not the documented shape is a WechatPayResponseError, not retried', async () => {
    handler = () => ({ status: 200, body: '{"url":"weixin://x"}' });
    const err = await rejection(client().nativePrepay(prepayParams));
    expect(err).toBeInstanceOf(WechatPayResponseError);
    expect(err).toMatchObject({ retryable: false, problem: expect.stringContaining('code_url') });
    handler = () => ({ status: 200, body: 'not json' });
    expect(await rejection(client().queryByOutTradeNo('SP20260101000001'))).toBeInstanceOf(WechatPayResponseError);
    expect(seen).toHaveLength(2);
  });

  it('uses the injected clock for request timestamps and answer freshness', async () => {
    handler = () => ({ status: 200, body: codeUrl });
    const skewed = client({ now: () => Date.now() + 10 * 60_000 });
    // The request is signed 10 min in the future (the stand-in does not check time), and the answer, signed
    // with the real clock, is 10 min stale from the client's point of view.
    expect(await rejection(skewed.nativePrepay(prepayParams))).toMatchObject({ reason: 'stale_timestamp' });
    expect(Number(parseAuthorization(seen[0]!.headers.authorization)?.timestamp)).toBeGreaterThan(Date.now() / 1000 + 500);
  });
});
