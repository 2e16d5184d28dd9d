// Pins the crypto primitives to the byte-exact vectors of reference §12 (D1–D4, V5) and the Authorization
// header format of §1.1. PKCS#1 v1.5 and GCM with a fixed nonce are deterministic, so any drift in message
// construction (a missing "\n", a re-serialised body) changes the expected Base64 and fails here.
import { describe, expect, it } from 'vitest';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  certificateSerial,
  formatAuthorization,
  parseAuthorization,
  requestMessage,
  responseMessage,
  signMessage,
  verifyMessage,
} from '../../server/wechatpay/crypto';
import { keys, pem, vectors } from './wechatpay-vectors';

describe('request signatures (merchant key)', () => {
  it('D1: POST /v3/pay/transactions/native reproduces the published signature', () => {
    const v = vectors.request_post;
    const message = requestMessage(v.method, v.url, v.timestamp, v.nonce, v.body);
    expect(message).toBe(`POST\n/v3/pay/transactions/native\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n${v.body}\n`);
    expect(signMessage(keys.merchantPrivate, message)).toBe(v.signature);
    expect(verifyMessage(keys.merchantPublic, message, v.signature)).toBe(true);
  });

  it('D2: GET with query string and empty body (message ends nonce\\n\\n)', () => {
    const v = vectors.request_get;
    const message = requestMessage(v.method, v.url, v.timestamp, v.nonce, '');
    expect(message.endsWith(`${v.nonce}\n\n`)).toBe(true);
    expect(signMessage(keys.merchantPrivate, message)).toBe(v.signature);
    // Signing the path without its query string is the classic mistake (§14 #2): different signature.
    const noQuery = requestMessage(v.method, v.url.split('?')[0]!, v.timestamp, v.nonce, '');
    expect(signMessage(keys.merchantPrivate, noQuery)).not.toBe(v.signature);
  });

  it('the merchant certificate serial matches the vectors', () => {
    expect(certificateSerial(pem('merchant_certificate.pem'))).toBe(vectors.merchant_serial);
    expect(certificateSerial(pem('wechat_pay_certificate.pem'))).toBe(vectors.platform_serial);
  });
});

describe('response signatures (platform key)', () => {
  it('D3: JSON answer', () => {
    const v = vectors.response_json;
    const message = responseMessage(v.timestamp, v.nonce, v.body);
    expect(signMessage(keys.platformPrivate, message)).toBe(v.signature);
    expect(verifyMessage(keys.platformCertPublic, message, v.signature)).toBe(true);
    expect(verifyMessage(keys.platformPublicKey, message, v.signature)).toBe(true);
  });

  it('D4: 204 over an empty body signs "ts\\nnonce\\n\\n"', () => {
    const v = vectors.response_204;
    const message = responseMessage(v.timestamp, v.nonce, '');
    expect(message).toBe(`${v.timestamp}\n${v.nonce}\n\n`);
    expect(signMessage(keys.platformPrivate, message)).toBe(v.signature);
    expect(verifyMessage(keys.platformCertPublic, message, v.signature)).toBe(true);
    // Dropping the final "\n" (§14 #1) must not verify.
    expect(verifyMessage(keys.platformCertPublic, `${v.timestamp}\n${v.nonce}\n`, v.signature)).toBe(false);
  });

  it('the merchant key does not verify a platform signature (§14 #5)', () => {
    const v = vectors.response_json;
    expect(verifyMessage(keys.merchantPublic, responseMessage(v.timestamp, v.nonce, v.body), v.signature)).toBe(false);
  });
});

describe('AES-GCM (§6.3, V5)', () => {
  it('GO vector: 16-byte key decrypts to "Hello World"', () => {
    expect(aesGcmDecrypt('testAPIv3Key0000', 'wCq51qZv4Yfg', 'Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8', 'FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC')).toBe('Hello World');
  });

  it('JAVA vector: 32-byte key encrypts "message" byte-exactly and round-trips', () => {
    const key = 'a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb';
    expect(aesGcmEncrypt(key, 'uluk4a9R25RW', 'associatedData', 'message')).toBe('ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=');
    expect(aesGcmDecrypt(key, 'uluk4a9R25RW', 'associatedData', 'ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=')).toBe('message');
  });

  it('AXIOS vector: 16-byte IV; empty plaintext with empty AAD is tag only', () => {
    const key = '0123456789abcdef0123456789abcdef';
    expect(aesGcmEncrypt(key, '0123456789abcdef', 'world', 'hello')).toBe('APoZlYpivU3HjbAiB4CvW1rAFr8J');
    expect(aesGcmEncrypt(key, '0123456789abcdef', '', '')).toBe('GvpmmdtYwexXIPhySs9Tlg==');
    expect(aesGcmDecrypt(key, '0123456789abcdef', '', 'GvpmmdtYwexXIPhySs9Tlg==')).toBe('');
  });

  const key = 'a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb';
  const good = 'ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=';
  const flip = (b64: string, index: number) => {
    const bytes = Buffer.from(b64, 'base64');
    bytes[index]! ^= 0x01;
    return bytes.toString('base64');
  };

  it.each([
    ['wrong key', () => aesGcmDecrypt('b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb', 'uluk4a9R25RW', 'associatedData', good), /authentication failed/],
    ['tampered ciphertext', () => aesGcmDecrypt(key, 'uluk4a9R25RW', 'associatedData', flip(good, 0)), /authentication failed/],
    ['tampered tag', () => aesGcmDecrypt(key, 'uluk4a9R25RW', 'associatedData', flip(good, 22)), /authentication failed/],
    ['wrong AAD', () => aesGcmDecrypt(key, 'uluk4a9R25RW', 'transaction', good), /authentication failed/],
    ['wrong nonce', () => aesGcmDecrypt(key, 'uluk4a9R25RX', 'associatedData', good), /authentication failed/],
    ['non-Base64', () => aesGcmDecrypt(key, 'uluk4a9R25RW', 'associatedData', 'not base64!!'), /not Base64/],
    ['shorter than the tag', () => aesGcmDecrypt(key, 'uluk4a9R25RW', 'associatedData', 'AAAA'), /shorter than the GCM tag/],
    ['bad key size (31 bytes)', () => aesGcmDecrypt(key.slice(1), 'uluk4a9R25RW', 'associatedData', good), /16, 24 or 32 bytes, got 31/],
  ])('rejects %s with AesGcmError', (_name, run, message) => {
    expect(run).toThrowError(message);
    try {
      run();
    } catch (err) {
      expect((err as Error).name).toBe('AesGcmError');
      expect((err as Error).message).not.toContain(key);
    }
  });
});

describe('Authorization header (§1.1)', () => {
  const params = {
    mchid: '1900009191',
    nonce_str: '593BEC0C930BF1AFEB40B4A08C8FB242',
    timestamp: '1554208460',
    serial_no: '1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C',
    signature: 'uOVRnA4q+/A==',
  };
  const q = (k: keyof typeof params) => `${k}="${params[k]}"`;

  it.each([
    ['GO/JAVA order', ['mchid', 'nonce_str', 'timestamp', 'serial_no', 'signature'] as const],
    ['official sample order', ['mchid', 'nonce_str', 'signature', 'timestamp', 'serial_no'] as const],
    ['PHP/AXIOS order', ['mchid', 'serial_no', 'timestamp', 'nonce_str', 'signature'] as const],
  ])('parses the %s', (_name, order) => {
    const header = `WECHATPAY2-SHA256-RSA2048 ${order.map(q).join(',')}`;
    expect(parseAuthorization(header)).toEqual(params);
  });

  it('round-trips formatAuthorization, keeping "=" padding inside the signature', () => {
    expect(parseAuthorization(formatAuthorization(params))).toEqual(params);
  });

  it('rejects another scheme or a missing parameter', () => {
    expect(parseAuthorization(formatAuthorization(params).replace('WECHATPAY2-SHA256-RSA2048', 'Bearer'))).toBeNull();
    expect(parseAuthorization(`WECHATPAY2-SHA256-RSA2048 ${q('mchid')},${q('nonce_str')},${q('timestamp')},${q('signature')}`)).toBeNull();
    expect(parseAuthorization(null)).toBeNull();
  });
});
