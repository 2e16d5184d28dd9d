// D5 (reference §12): a complete signed + encrypted TRANSACTION.SUCCESS notification, checked piece by piece
// and through parseNotification, plus each failure reason parseNotification can report.
import { describe, expect, it } from 'vitest';
import { aesGcmDecrypt, aesGcmEncrypt, responseMessage, signMessage, verifyMessage } from '../../server/wechatpay/crypto';
import { parseNotification, parseRefundResource, parseTransactionResource } from '../../server/wechatpay/notification';
import { WechatPayVerifier } from '../../server/wechatpay/verifier';
import { headersOf, keys, vectors } from './wechatpay-vectors';

const n = vectors.notification;
const NOW = 1554209980000; // frozen at the vector's timestamp: the 5-minute check stays on
const APIV3 = vectors.apiv3_key;
const PUB_KEY_ID = 'PUB_KEY_ID_0114232134912410000000000000';
const envelope = JSON.parse(n.body) as { resource: { ciphertext: string; nonce: string; associated_data: string } };
const ciphertext = envelope.resource.ciphertext;

const certVerifier = new WechatPayVerifier([[n.serial, keys.platformCertPublic]]);
const combinedVerifier = new WechatPayVerifier([
  [n.serial, keys.platformCertPublic],
  [PUB_KEY_ID, keys.platformPublicKey],
]);

const baseHeaders = {
  'Wechatpay-Timestamp': n.timestamp,
  'Wechatpay-Nonce': n.nonce,
  'Wechatpay-Signature': n.signature,
  'Wechatpay-Serial': n.serial,
  'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  'Request-ID': '08F78BB5AF0610D302189F99DD5C20BA56F89845-0',
};

/** Builds a notification whose body is signed correctly, so only the intended defect is under test. */
function signedNotification(body: string, extra: Record<string, string> = {}) {
  const signature = signMessage(keys.platformPrivate, responseMessage(n.timestamp, n.nonce, body));
  return { headers: headersOf({ ...baseHeaders, 'Wechatpay-Signature': signature, ...extra }), body };
}

function withResource(patch: Record<string, unknown>): string {
  const e = JSON.parse(n.body);
  e.resource = { ...e.resource, ...patch };
  return JSON.stringify(e);
}

describe('D5 payment notification vector', () => {
  const message = responseMessage(n.timestamp, n.nonce, n.body);

  it('signature verifies with wechat_pay_certificate.pem', () => {
    expect(signMessage(keys.platformPrivate, message)).toBe(n.signature);
    expect(verifyMessage(keys.platformCertPublic, message, n.signature)).toBe(true);
    expect(certVerifier.verify({ timestamp: n.timestamp, nonce: n.nonce, signature: n.signature, serial: n.serial }, n.body, NOW)).toEqual({
      ok: true,
      serial: n.serial,
    });
  });

  it('signature verifies with wechat_pay_public_key.pem keyed by a PUB_KEY_ID_ id', () => {
    expect(verifyMessage(keys.platformPublicKey, message, n.signature)).toBe(true);
    expect(combinedVerifier.verify({ timestamp: n.timestamp, nonce: n.nonce, signature: n.signature, serial: PUB_KEY_ID }, n.body, NOW)).toEqual({
      ok: true,
      serial: PUB_KEY_ID,
    });
  });

  it('decrypts to the exact plaintext, and encrypting it reproduces the exact ciphertext', () => {
    expect(envelope.resource.nonce).toBe(n.resource_nonce);
    expect(envelope.resource.associated_data).toBe(n.associated_data);
    expect(aesGcmDecrypt(APIV3, n.resource_nonce, n.associated_data, ciphertext)).toBe(n.plaintext);
    expect(aesGcmEncrypt(APIV3, n.resource_nonce, n.associated_data, n.plaintext)).toBe(ciphertext);
  });

  it('parseNotification accepts it end to end', () => {
    const result = parseNotification({ headers: headersOf(baseHeaders), body: n.body, verifier: certVerifier, apiv3Key: APIV3, now: NOW });
    if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
    expect(result.serial).toBe(n.serial);
    expect(result.plaintext).toBe(n.plaintext);
    expect(result.envelope).toMatchObject({ id: 'EV-2018022511223320873', event_type: 'TRANSACTION.SUCCESS', summary: '支付成功' });
    const tx = parseTransactionResource(result.resource);
    expect(tx.success).toBe(true);
    expect(tx.data).toMatchObject({
      out_trade_no: '1217752501201407033233368018',
      transaction_id: '4200000000000000000000000001',
      trade_state: 'SUCCESS',
      amount: { total: 100, payer_total: 100, currency: 'CNY' },
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    });
  });

  it('parseNotification also accepts it as a Uint8Array body and under a PUB_KEY_ID_ serial', () => {
    const r1 = parseNotification({
      headers: headersOf(baseHeaders),
      body: new TextEncoder().encode(n.body),
      verifier: certVerifier,
      apiv3Key: APIV3,
      now: NOW,
    });
    expect(r1.ok).toBe(true);
    const r2 = parseNotification({
      headers: headersOf({ ...baseHeaders, 'Wechatpay-Serial': PUB_KEY_ID }),
      body: n.body,
      verifier: combinedVerifier,
      apiv3Key: APIV3,
      now: NOW,
    });
    expect(r2).toMatchObject({ ok: true, serial: PUB_KEY_ID });
  });
});

describe('parseNotification failures', () => {
  const parse = (input: { headers: Headers; body: string }, now = NOW, apiv3Key = APIV3) =>
    parseNotification({ ...input, verifier: certVerifier, apiv3Key, now });

  it('missing headers', () => {
    const { 'Wechatpay-Signature': _, ...rest } = baseHeaders;
    expect(parse({ headers: headersOf(rest), body: n.body })).toEqual({ ok: false, reason: 'missing_headers' });
  });

  it('unsupported signature type', () => {
    expect(parse({ headers: headersOf({ ...baseHeaders, 'Wechatpay-Signature-Type': 'WECHATPAY2-SM2-WITH-SM3' }), body: n.body })).toMatchObject({
      reason: 'unsupported_signature_type',
    });
  });

  it('stale and future timestamps (±301 s) but not ±300 s', () => {
    const headers = headersOf(baseHeaders);
    expect(parse({ headers, body: n.body }, NOW + 301_000)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(parse({ headers, body: n.body }, NOW - 301_000)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(parse({ headers, body: n.body }, NOW + 300_000).ok).toBe(true);
    expect(parse({ headers, body: n.body }, NOW - 300_000).ok).toBe(true);
  });

  it('unknown serial', () => {
    expect(parse({ headers: headersOf({ ...baseHeaders, 'Wechatpay-Serial': 'ABCDEF' }), body: n.body })).toMatchObject({ reason: 'unknown_serial' });
  });

  it('SIGNTEST probe, without throwing', () => {
    const headers = headersOf({ ...baseHeaders, 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/' + n.signature.slice(19) });
    expect(() => parse({ headers, body: n.body })).not.toThrow();
    expect(parse({ headers, body: n.body })).toMatchObject({ ok: false, reason: 'signature_probe' });
  });

  it('bad signature: body altered by one byte, or a trailing newline added', () => {
    const headers = headersOf(baseHeaders);
    expect(parse({ headers, body: n.body.replace('"EV-2018022511223320873"', '"EV-2018022511223320874"') })).toMatchObject({ reason: 'bad_signature' });
    expect(parse({ headers, body: n.body + '\n' })).toMatchObject({ reason: 'bad_signature' });
    expect(parse({ headers, body: n.body.replace('"id"', ' "id"') })).toMatchObject({ reason: 'bad_signature' });
  });

  it('verification happens before anything in the body is parsed', () => {
    // Unsigned garbage must be reported as a signature failure, not as a malformed envelope.
    expect(parse({ headers: headersOf(baseHeaders), body: 'not json' })).toMatchObject({ reason: 'bad_signature' });
  });

  it('malformed envelope: signed but not JSON, or missing the resource', () => {
    expect(parse(signedNotification('not json'))).toMatchObject({ ok: false, reason: 'malformed_envelope' });
    expect(parse(signedNotification('{"id":"x","event_type":"TRANSACTION.SUCCESS"}'))).toMatchObject({ ok: false, reason: 'malformed_envelope' });
  });

  it('unsupported algorithm', () => {
    expect(parse(signedNotification(withResource({ algorithm: 'AEAD_SM4_GCM' })))).toMatchObject({ ok: false, reason: 'unsupported_algorithm' });
  });

  it('decrypt failures: wrong key, wrong AAD, tampered ciphertext, bad key size', () => {
    expect(parse(signedNotification(n.body), NOW, 'b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb')).toMatchObject({ reason: 'decrypt_failed' });
    expect(parse(signedNotification(n.body), NOW, 'short')).toMatchObject({ reason: 'decrypt_failed' });
    expect(parse(signedNotification(withResource({ associated_data: 'refund' })))).toMatchObject({ reason: 'decrypt_failed' });
    expect(parse(signedNotification(withResource({ associated_data: '' })))).toMatchObject({ reason: 'decrypt_failed' });
    const bytes = Buffer.from(ciphertext, 'base64');
    bytes[5]! ^= 0xff;
    expect(parse(signedNotification(withResource({ ciphertext: bytes.toString('base64') })))).toMatchObject({ reason: 'decrypt_failed' });
  });

  it('empty or absent associated_data decrypts with "" (never a hard-coded "transaction")', () => {
    const ct = aesGcmEncrypt(APIV3, 'abcdefghijkl', '', n.plaintext);
    expect(parse(signedNotification(withResource({ ciphertext: ct, nonce: 'abcdefghijkl', associated_data: '' })))).toMatchObject({
      ok: true,
      plaintext: n.plaintext,
    });
    expect(parse(signedNotification(withResource({ ciphertext: ct, nonce: 'abcdefghijkl', associated_data: undefined })))).toMatchObject({ ok: true });
  });

  it('malformed resource: decrypts but is not JSON', () => {
    const ct = aesGcmEncrypt(APIV3, 'abcdefghijkl', 'transaction', 'not json');
    expect(parse(signedNotification(withResource({ ciphertext: ct, nonce: 'abcdefghijkl' })))).toMatchObject({ ok: false, reason: 'malformed_resource' });
  });

  it('never throws on hostile header objects', () => {
    const headers = {
      get(): string | null {
        throw new Error('boom');
      },
    };
    expect(parseNotification({ headers, body: n.body, verifier: certVerifier, apiv3Key: APIV3, now: NOW })).toMatchObject({ ok: false });
  });
});

describe('refund notification resource (§7.3)', () => {
  it('reads refund_status and rejects an API-style "status" object', () => {
    const ok = parseRefundResource({
      mchid: '1234567891',
      out_trade_no: '1217752501201407033233368018',
      transaction_id: '4200000000000000000000000001',
      out_refund_no: 'R20260101000001',
      refund_id: '50303400132024073135461150169',
      refund_status: 'SUCCESS',
      success_time: '2024-07-31T16:56:00+08:00',
      user_received_account: '支付用户零钱',
      amount: { total: 100, refund: 100, payer_total: 100, payer_refund: 100 },
      new_field_from_wechat: { anything: true },
    });
    expect(ok.success).toBe(true);
    expect(ok.data?.refund_status).toBe('SUCCESS');
    expect((ok.data as Record<string, unknown>).new_field_from_wechat).toEqual({ anything: true });
    expect(parseRefundResource({ out_refund_no: 'R20260101000001', status: 'SUCCESS' }).success).toBe(false);
  });
});
