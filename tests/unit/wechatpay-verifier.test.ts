// Response/notification verification failures (reference §2.2–§2.5): every way a signature can be wrong
// must yield a clean `{ok: false, reason}` — never an exception, never `ok: true`.
import { describe, expect, it } from 'vitest';
import { responseMessage, signMessage } from '../../server/wechatpay/crypto';
import { WechatPayVerifier, type SignatureHeaders } from '../../server/wechatpay/verifier';
import { keys, vectors } from './wechatpay-vectors';

const v = vectors.response_json;
const T = Number(v.timestamp) * 1000; // the vector's own instant: "now" for a fresh signature
const verifier = new WechatPayVerifier([[vectors.platform_serial, keys.platformCertPublic]]);
const good: SignatureHeaders = {
  timestamp: v.timestamp,
  nonce: v.nonce,
  signature: v.signature,
  serial: vectors.platform_serial,
  signatureType: 'WECHATPAY2-SHA256-RSA2048',
};

/** Headers for `body` signed by the platform key at `ts` (epoch seconds). */
function signed(body: string, ts: number): SignatureHeaders {
  const timestamp = String(ts);
  return { ...good, timestamp, signature: signMessage(keys.platformPrivate, responseMessage(timestamp, v.nonce, body)) };
}

describe('WechatPayVerifier', () => {
  it('accepts the D3 vector (string and Buffer bodies) and reports the serial', () => {
    expect(verifier.verify(good, v.body, T)).toEqual({ ok: true, serial: vectors.platform_serial });
    expect(verifier.verify(good, Buffer.from(v.body, 'utf8'), T)).toEqual({ ok: true, serial: vectors.platform_serial });
  });

  it('accepts a missing Wechatpay-Signature-Type (defaults to RSA, §2.1) and rejects another type', () => {
    expect(verifier.verify({ ...good, signatureType: null }, v.body, T).ok).toBe(true);
    expect(verifier.verify({ ...good, signatureType: 'WECHATPAY2-SM2-WITH-SM3' }, v.body, T)).toMatchObject({ reason: 'unsupported_signature_type' });
  });

  it('treats a WECHATPAY/SIGNTEST probe as a failure without throwing', () => {
    const probe = { ...good, signature: 'WECHATPAY/SIGNTEST/' + v.signature.slice(0, 40) };
    expect(() => verifier.verify(probe, v.body, T)).not.toThrow();
    expect(verifier.verify(probe, v.body, T)).toEqual({ ok: false, reason: 'signature_probe', serial: vectors.platform_serial });
  });

  it('rejects a non-Base64 signature as bad_signature', () => {
    for (const signature of ['%%%not-base64%%%', v.signature.slice(1), 'abc', v.signature.replace(/=+$/, '') + '!']) {
      expect(verifier.verify({ ...good, signature }, v.body, T)).toMatchObject({ ok: false, reason: 'bad_signature' });
    }
  });

  it('rejects an unknown serial', () => {
    expect(verifier.verify({ ...good, serial: 'PUB_KEY_ID_0114232134912410000000000000' }, v.body, T)).toMatchObject({
      ok: false,
      reason: 'unknown_serial',
    });
  });

  it.each(['timestamp', 'nonce', 'signature', 'serial'] as const)('rejects a missing %s header', (field) => {
    expect(verifier.verify({ ...good, [field]: null }, v.body, T)).toEqual({ ok: false, reason: 'missing_headers' });
    expect(verifier.verify({ ...good, [field]: '' }, v.body, T)).toEqual({ ok: false, reason: 'missing_headers' });
  });

  it('accepts timestamps exactly ±300 s away and rejects ±301 s (stale and future)', () => {
    const now = Math.floor(T / 1000);
    for (const [delta, ok] of [
      [300, true],
      [-300, true],
      [301, false],
      [-301, false],
    ] as const) {
      const h = signed(v.body, now + delta); // properly signed, so only the clock can fail it
      const result = verifier.verify(h, v.body, T);
      expect(result.ok, `delta ${delta}`).toBe(ok);
      if (!ok) expect(result).toMatchObject({ reason: 'stale_timestamp' });
    }
  });

  it('rejects a non-numeric or millisecond timestamp', () => {
    expect(verifier.verify({ ...good, timestamp: 'abc' }, v.body, T)).toMatchObject({ reason: 'stale_timestamp' });
    expect(verifier.verify({ ...good, timestamp: `${v.timestamp}000` }, v.body, T)).toMatchObject({ reason: 'stale_timestamp' });
  });

  it('rejects a body altered by one byte', () => {
    const altered = v.body.replace('p4lpSuKzz', 'p4lpSuKzy');
    expect(altered).not.toBe(v.body);
    expect(verifier.verify(good, altered, T)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const bytes = Buffer.from(v.body);
    bytes[bytes.length - 1] = 0x20;
    expect(verifier.verify(good, bytes, T)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('distinguishes a body with and without a trailing newline (raw bytes, never trimmed)', () => {
    const now = Math.floor(T / 1000);
    expect(verifier.verify(good, v.body + '\n', T)).toMatchObject({ reason: 'bad_signature' });
    const withNewline = signed(v.body + '\n', now); // e.g. GO's encoder appends "\n" to every JSON body
    expect(verifier.verify(withNewline, v.body + '\n', T).ok).toBe(true);
    expect(verifier.verify(withNewline, v.body, T)).toMatchObject({ reason: 'bad_signature' });
  });

  it('verifies with the public key registered under a PUB_KEY_ID_ id (public-key mode)', () => {
    const id = 'PUB_KEY_ID_0114232134912410000000000000';
    const both = new WechatPayVerifier([
      [vectors.platform_serial, keys.platformCertPublic],
      [id, keys.platformPublicKey],
    ]);
    expect(both.verify({ ...good, serial: id }, v.body, T)).toEqual({ ok: true, serial: id });
    expect(both.verify(good, v.body, T)).toEqual({ ok: true, serial: vectors.platform_serial });
    // A key registered under the wrong id is not a fallback for another serial's signature.
    const merchantOnly = new WechatPayVerifier([[vectors.platform_serial, keys.merchantPublic]]);
    expect(merchantOnly.verify(good, v.body, T)).toMatchObject({ reason: 'bad_signature' });
  });
});
