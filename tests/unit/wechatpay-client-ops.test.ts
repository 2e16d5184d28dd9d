// The client operations beyond payments — refunds, bills, certificates — and the verification mechanics they
// rely on (probe retries, one refresh on an unknown serial, Wechatpay-Serial per request), against a local
// node:http stand-in that checks every request signature over the raw target and body.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayClient, type WechatPayClientOptions } from '../../server/wechatpay/client';
import {
  aesGcmEncrypt,
  decryptSensitive,
  parseAuthorization,
  randomHexNonce,
  requestMessage,
  responseMessage,
  signMessage,
  verifyMessage,
} from '../../server/wechatpay/crypto';
import { WechatPayRequestError, WechatPayResponseError, WechatPayVerificationError } from '../../server/wechatpay/errors';
import { WechatPayVerifier } from '../../server/wechatpay/verifier';
import { keys, pem, vectors } from './wechatpay-vectors';

interface Seen {
  method: string;
  target: string;
  headers: IncomingHttpHeaders;
  body: string;
  nonce: string;
}
interface Reply {
  status: number;
  body?: string | Buffer;
  sign?: 'good' | 'none' | 'probe';
  /** Wechatpay-Serial of the answer (default: the platform certificate of the vectors). */
  serial?: string;
}

let server: Server;
let baseUrl: string;
let handler: (req: Seen) => Reply = () => ({ status: 500 });
let seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const auth = parseAuthorization(req.headers.authorization);
      const valid =
        !!auth &&
        auth.serial_no === vectors.merchant_serial &&
        verifyMessage(keys.merchantPublic, requestMessage(req.method!, req.url!, auth.timestamp, auth.nonce_str, body), auth.signature);
      if (!valid) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"code":"SIGN_ERROR","message":"签名错误"}');
        return;
      }
      const s = { method: req.method!, target: req.url!, headers: req.headers, body, nonce: auth.nonce_str };
      seen.push(s);
      const reply = handler(s);
      const out = typeof reply.body === 'string' ? Buffer.from(reply.body) : (reply.body ?? Buffer.alloc(0));
      const headers: Record<string, string> = { 'Request-ID': `0A0B0C-${reply.status < 300 ? 0 : 268435461}` };
      if ((reply.sign ?? 'good') !== 'none') {
        const ts = String(Math.floor(Date.now() / 1000));
        const nonce = randomHexNonce();
        const signature = signMessage(keys.platformPrivate, Buffer.concat([Buffer.from(`${ts}\n${nonce}\n`), out, Buffer.from('\n')]));
        Object.assign(headers, {
          'Content-Type': 'application/json; charset=utf-8',
          'Wechatpay-Timestamp': ts,
          'Wechatpay-Nonce': nonce,
          'Wechatpay-Serial': reply.serial ?? vectors.platform_serial,
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
    retryBaseDelayMs: 2,
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

const REFUND_ANSWER = JSON.stringify({
  amount: {
    currency: 'CNY',
    discount_refund: 0,
    from: [],
    payer_refund: 10,
    payer_total: 10,
    refund: 10,
    refund_fee: 0,
    settlement_refund: 10,
    settlement_total: 10,
    total: 10,
  },
  channel: 'ORIGINAL',
  create_time: '2024-07-31T16:55:39+08:00',
  funds_account: 'AVAILABLE',
  out_refund_no: 'R1|x*y@z',
  out_trade_no: 'SP20240731001',
  promotion_detail: [],
  refund_id: '50303400132024073135461150169',
  status: 'PROCESSING',
  transaction_id: '4200001863202305068344507881',
  user_received_account: '支付用户零钱',
});

describe('refunds', () => {
  it('createRefund sends exactly the documented fields, in a stable order, never null', async () => {
    handler = () => ({ status: 200, body: REFUND_ANSWER });
    const refund = await client().createRefund({
      out_trade_no: 'SP20240731001',
      out_refund_no: 'R1|x*y@z',
      amount: { refund: 10, total: 10, currency: 'CNY' },
    });
    expect(seen[0]).toMatchObject({ method: 'POST', target: '/v3/refund/domestic/refunds' });
    expect(seen[0]!.body).toBe('{"out_trade_no":"SP20240731001","out_refund_no":"R1|x*y@z","amount":{"refund":10,"total":10,"currency":"CNY"}}');
    expect(refund).toMatchObject({ status: 'PROCESSING', refund_id: '50303400132024073135461150169', amount: { refund: 10, total: 10 } });
  });

  it('createRefund retries a 500 with the identical body (same out_refund_no)', async () => {
    let n = 0;
    handler = () => (n++ === 0 ? { status: 500, body: '{"code":"SYSTEM_ERROR","message":"系统繁忙"}' } : { status: 200, body: REFUND_ANSWER });
    await client().createRefund({
      transaction_id: '4200001863202305068344507881',
      out_refund_no: 'R1',
      reason: '缺货',
      amount: { refund: 10, total: 10, currency: 'CNY' },
    });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.body).toBe(seen[0]!.body);
    expect(seen[1]!.nonce).not.toBe(seen[0]!.nonce);
  });

  it('queryRefund signs the percent-encoded target it sends and reads `status`', async () => {
    handler = () => ({ status: 200, body: REFUND_ANSWER });
    const refund = await client().queryRefund('R1|x*y@z');
    expect(seen[0]!.target).toBe('/v3/refund/domestic/refunds/R1%7Cx*y%40z');
    expect(refund.status).toBe('PROCESSING');
  });

  it('applyAbnormalRefund encrypts bank_account and real_name for the named key, sends Wechatpay-Serial, is not retried', async () => {
    handler = () => ({ status: 200, body: REFUND_ANSWER });
    const encryption = { encryptionKey: keys.platformCertPublic, encryptionSerial: vectors.platform_serial };
    const refund = await client().applyAbnormalRefund(
      {
        refund_id: '50303400132024073135461150169',
        out_refund_no: 'R1|x*y@z',
        type: 'USER_BANK_CARD',
        bank_type: 'CMB_DEBIT',
        bank_account: '6214830012345678',
        real_name: '张三',
      },
      encryption,
    );
    expect(refund.status).toBe('PROCESSING');
    expect(seen[0]).toMatchObject({ method: 'POST', target: '/v3/refund/domestic/refunds/50303400132024073135461150169/apply-abnormal-refund' });
    expect(seen[0]!.headers['wechatpay-serial']).toBe(vectors.platform_serial);
    const body = JSON.parse(seen[0]!.body) as Record<string, string>;
    expect(Object.keys(body)).toEqual(['out_refund_no', 'type', 'bank_type', 'bank_account', 'real_name']);
    expect(body.bank_account).not.toContain('6214');
    expect(decryptSensitive(keys.platformPrivate, body.bank_account!)).toBe('6214830012345678');
    expect(decryptSensitive(keys.platformPrivate, body.real_name!)).toBe('张三');

    seen = [];
    await client().applyAbnormalRefund({ refund_id: '50303400132024073135461150169', out_refund_no: 'R1', type: 'MERCHANT_BANK_CARD' }, encryption);
    expect(seen[0]!.body).toBe('{"out_refund_no":"R1","type":"MERCHANT_BANK_CARD"}');

    // A 500 is not retried: once accepted the refund is no longer ABNORMAL, so a blind repeat could be refused.
    seen = [];
    handler = () => ({ status: 500, body: '{"code":"SYSTEM_ERROR","message":"系统繁忙"}' });
    await rejection(client().applyAbnormalRefund({ refund_id: '5030', out_refund_no: 'R1', type: 'MERCHANT_BANK_CARD' }, encryption));
    expect(seen).toHaveLength(1);
    // Bad input never leaves the process.
    for (const bad of [
      { refund_id: '5030', out_refund_no: 'R1', type: 'USER_BANK_CARD', bank_type: 'CMB_DEBIT', bank_account: '1234', real_name: '张三' },
      { refund_id: '5030', out_refund_no: 'R1', type: 'USER_BANK_CARD', bank_type: 'VISA', bank_account: '6214830012345678', real_name: '张三' },
      { refund_id: '5030', out_refund_no: 'R1', type: 'USER_BANK_CARD', bank_type: 'CMB_DEBIT', bank_account: '6214830012345678', real_name: ' ' },
      { refund_id: '../x', out_refund_no: 'R1', type: 'MERCHANT_BANK_CARD' },
    ]) {
      expect(await rejection(client().applyAbnormalRefund(bad as never, encryption))).toBeInstanceOf(WechatPayRequestError);
    }
    expect(seen).toHaveLength(1);
  });

  it('a Refund answer without status is malformed', async () => {
    handler = () => ({ status: 200, body: REFUND_ANSWER.replace('"status":"PROCESSING",', '"refund_status":"PROCESSING",') });
    expect(await rejection(client().queryRefund('R1'))).toBeInstanceOf(WechatPayResponseError);
  });
});

describe('verification mechanics', () => {
  it('a probe-signed answer is retried, and the properly signed retry is used', async () => {
    let n = 0;
    handler = () => ({ status: 200, body: REFUND_ANSWER, sign: n++ === 0 ? 'probe' : 'good' });
    await expect(client().queryRefund('R1')).resolves.toMatchObject({ status: 'PROCESSING' });
    expect(seen).toHaveLength(2);
  });

  it('an unknown serial triggers exactly one refresh; the answer verifies if the refresh found the key', async () => {
    handler = () => ({ status: 200, body: REFUND_ANSWER, serial: 'ROTATED01' });
    const verifier = new WechatPayVerifier();
    const asked: string[] = [];
    const c = client({
      verifier,
      onUnknownSerial: async (serial) => {
        asked.push(serial);
        verifier.trust(serial, keys.platformCertPublic);
      },
    });
    await expect(c.queryRefund('R1')).resolves.toMatchObject({ status: 'PROCESSING' });
    expect(asked).toEqual(['ROTATED01']);
  });

  it('a refresh that does not help ends in unknown_serial, after one try, without retry loops', async () => {
    handler = () => ({ status: 200, body: REFUND_ANSWER, serial: 'FORGED' });
    let calls = 0;
    const err = await rejection(client({ verifier: new WechatPayVerifier(), onUnknownSerial: async () => calls++ }).queryRefund('R1'));
    expect(err).toBeInstanceOf(WechatPayVerificationError);
    expect(err).toMatchObject({ reason: 'unknown_serial', retryable: false });
    expect(calls).toBe(1);
    expect(seen).toHaveLength(1);
  });

  it('acceptSerial may be a function, asked on every request', async () => {
    handler = () => ({ status: 200, body: REFUND_ANSWER });
    let serial = 'FIRST';
    const c = client({ acceptSerial: () => serial });
    await c.queryRefund('R1');
    serial = 'SECOND';
    await c.queryRefund('R1');
    expect(seen.map((s) => s.headers['wechatpay-serial'])).toEqual(['FIRST', 'SECOND']);
  });
});

describe('bills', () => {
  const content = Buffer.from('\uFEFF交易时间,订单金额\r\n`2026-03-01 10:00:00,`0.01\r\n总交易单数,订单总金额\r\n`1,`0.01\r\n', 'utf8');
  const sha1 = createHash('sha1').update(content).digest('hex');

  it('applyTradeBill sends only the given query parameters and reads the application', async () => {
    handler = () => ({ status: 200, body: JSON.stringify({ hash_type: 'SHA1', hash_value: sha1, download_url: `${baseUrl}/v3/billdownload/file?token=abc` }) });
    const applied = await client().applyTradeBill({ bill_date: '2026-03-01', tar_type: 'GZIP' });
    expect(seen[0]!.target).toBe('/v3/bill/tradebill?bill_date=2026-03-01&tar_type=GZIP');
    expect(applied.hash_value).toBe(sha1);
    await client().applyFundFlowBill({ bill_date: '2026-03-01', account_type: 'BASIC' });
    expect(seen[1]!.target).toBe('/v3/bill/fundflowbill?bill_date=2026-03-01&account_type=BASIC');
    expect(await rejection(client().applyTradeBill({ bill_date: '2026/03/01' }))).toBeInstanceOf(WechatPayRequestError);
  });

  it('downloadBill signs the GET, accepts the unsigned file and checks SHA-1 of the uncompressed bytes', async () => {
    handler = () => ({ status: 200, body: content, sign: 'none' });
    const file = await client().downloadBill({ hash_type: 'SHA1', hash_value: sha1.toUpperCase(), download_url: `${baseUrl}/v3/billdownload/file?token=abc` });
    expect(file.equals(content)).toBe(true);
    expect(seen[0]!.target).toBe('/v3/billdownload/file?token=abc');
  });

  it('downloadBill decompresses gzip before hashing', async () => {
    handler = () => ({ status: 200, body: gzipSync(content), sign: 'none' });
    const file = await client().downloadBill({ hash_type: 'SHA1', hash_value: sha1, download_url: `${baseUrl}/v3/billdownload/file?token=abc&tartype=gzip` });
    expect(file.equals(content)).toBe(true);
  });

  it('downloadBill refuses a file whose SHA-1 differs, or that was hashed compressed', async () => {
    const gz = gzipSync(content);
    handler = () => ({ status: 200, body: gz, sign: 'none' });
    const err = await rejection(
      client().downloadBill({
        hash_type: 'SHA1',
        hash_value: createHash('sha1').update(gz).digest('hex'),
        download_url: `${baseUrl}/v3/billdownload/file?token=abc`,
      }),
    );
    expect(err).toBeInstanceOf(WechatPayResponseError);
    expect((err as Error).message).toMatch(/SHA-1/);
  });

  it('downloadBill never sends a signed request to a host that is not WeChat or the configured base', async () => {
    handler = () => ({ status: 200, body: content, sign: 'none' });
    for (const url of ['https://evil.example/v3/billdownload/file?token=abc', 'http://api.mch.weixin.qq.com/v3/billdownload/file?token=abc']) {
      expect(await rejection(client().downloadBill({ hash_type: 'SHA1', hash_value: sha1, download_url: url }))).toBeInstanceOf(WechatPayRequestError);
    }
    expect(seen).toHaveLength(0);
  });
});

describe('certificates', () => {
  const certificatePem = pem('wechat_pay_certificate.pem');
  const answer = (overrides: { serial?: string; key?: string } = {}) =>
    JSON.stringify({
      data: [
        {
          serial_no: overrides.serial ?? vectors.platform_serial,
          effective_time: '2020-05-09T00:00:00+08:00',
          expire_time: '2025-05-09T00:00:00+08:00',
          encrypt_certificate: {
            algorithm: 'AEAD_AES_256_GCM',
            associated_data: 'certificate',
            nonce: '14b16c03dc1b',
            ciphertext: aesGcmEncrypt(overrides.key ?? vectors.apiv3_key, '14b16c03dc1b', 'certificate', certificatePem),
          },
        },
      ],
    });

  it('bootstraps: decrypts with the APIv3 key and verifies the answer with the certificate it carries', async () => {
    handler = () => ({ status: 200, body: answer() });
    const certs = await client({ verifier: new WechatPayVerifier() }).downloadCertificates(vectors.apiv3_key);
    expect(certs).toHaveLength(1);
    expect(certs[0]!.serialNo).toBe(vectors.platform_serial);
    expect(certs[0]!.certificatePem).toBe(certificatePem);
    expect(seen[0]).toMatchObject({ method: 'GET', target: '/v3/certificates' });
  });

  it('refuses certificates that do not decrypt with our APIv3 key (a forged list)', async () => {
    handler = () => ({ status: 200, body: answer({ key: 'x'.repeat(32) }) });
    expect(await rejection(client({ verifier: new WechatPayVerifier() }).downloadCertificates(vectors.apiv3_key))).toBeInstanceOf(WechatPayResponseError);
  });

  it('refuses a serial_no that is not the serial of the certificate inside', async () => {
    handler = () => ({ status: 200, body: answer({ serial: '0123456789ABCDEF' }) });
    expect(await rejection(client({ verifier: new WechatPayVerifier() }).downloadCertificates(vectors.apiv3_key))).toBeInstanceOf(WechatPayResponseError);
  });

  it('refuses an answer signed by a key that is neither known nor in the list', async () => {
    handler = () => ({ status: 200, body: answer(), serial: 'SOMEONE_ELSE' });
    const err = await rejection(client({ verifier: new WechatPayVerifier() }).downloadCertificates(vectors.apiv3_key));
    expect(err).toMatchObject({ reason: 'unknown_serial' });
  });

  it('verifies the response message over the raw body (responseMessage shape)', () => {
    // Guard for the stand-in itself: it signs exactly what §2.2 says.
    expect(responseMessage('1', 'n', '{}')).toBe('1\nn\n{}\n');
  });
});
