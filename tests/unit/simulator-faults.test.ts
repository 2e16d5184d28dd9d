// The simulator's fault vocabulary and key selection, without a server: what PUT /_sim/faults accepts, the
// defaults it fills in, which key signs in each key mode, and what a probe signature looks like.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SIGNTEST_PREFIX } from '../../server/wechatpay/crypto';
import { WechatPayVerifier } from '../../server/wechatpay/verifier';
import type { SimCredentials } from '../../simulator/credentials';
import { chance, FaultsInput, NO_FAULTS, pick, resolveFaults } from '../../simulator/faults';
import { Keyring, signatureHeaders } from '../../simulator/http';

function pems() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKey, publicKey };
}
const platform = pems();
const pub = pems();
const credentials = {
  platformCertificate: { serial: 'ABCDEF0123456789', privateKeyPem: platform.privateKey, certificatePem: '' },
  wechatpayPublicKey: { id: 'PUB_KEY_ID_0112345', privateKeyPem: pub.privateKey, publicKeyPem: pub.publicKey },
} as unknown as SimCredentials;
const keyring = new Keyring(credentials);
const CERT = 'ABCDEF0123456789';
const PUB = 'PUB_KEY_ID_0112345';

describe('FaultsInput', () => {
  it('accepts the documented set and fills every default', () => {
    const input = FaultsInput.parse({
      notifyDropRate: 0.1,
      notifyDuplicateRate: 0.2,
      notifyDelayMs: [0, 100],
      notifyReorder: true,
      probeSignatureRate: 0.05,
      apiErrorRate: 0,
      apiLatencyMs: [5, 5],
      apiTimeoutRate: 1,
      keyMode: 'migrating',
      refundErrorRate: 0.2,
      refundTimeoutRate: 0.1,
    });
    expect(resolveFaults(input)).toEqual({ ...input });
    expect(resolveFaults(FaultsInput.parse({}))).toEqual(NO_FAULTS);
  });

  it.each([
    [{ apiErrorRate: 2 }],
    [{ apiErrorRate: '0.5' }],
    [{ notifyDelayMs: [10, 5] }],
    [{ notifyDelayMs: [-1, 5] }],
    [{ notifyDelayMs: [0, 60_001] }],
    [{ apiLatencyMs: [1.5, 2] }],
    [{ keyMode: 'public_key' }],
    [{ notifyReorder: 'yes' }],
    [{ somethingElse: 1 }],
  ])('refuses %j', (body) => {
    expect(FaultsInput.safeParse(body).success).toBe(false);
  });
});

describe('chance and pick', () => {
  it('chance(0) never and chance(1) always fire', () => {
    for (let i = 0; i < 200; i++) {
      expect(chance(0)).toBe(false);
      expect(chance(1)).toBe(true);
    }
  });

  it('pick stays inside [min, max] and reaches both ends', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const v = pick([3, 6]);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(6);
      seen.add(v);
    }
    expect(seen).toEqual(new Set([3, 4, 5, 6]));
    expect(pick([7, 7])).toBe(7);
  });
});

describe('Keyring', () => {
  it.each([
    // [keyMode, Wechatpay-Serial of the request, expected signer]
    ['certificate', PUB, CERT],
    ['certificate', undefined, CERT],
    ['public-key', CERT, PUB],
    ['public-key', undefined, PUB],
    ['migrating', PUB, PUB],
    ['migrating', CERT, CERT],
    ['migrating', undefined, CERT],
    [null, CERT, CERT],
    [null, PUB, PUB],
    [null, 'UNKNOWN', PUB],
  ] as const)('responses in %s mode with Wechatpay-Serial %s are signed by %s', (mode, requested, expected) => {
    expect(keyring.forResponse(requested, mode).serial).toBe(expected);
  });

  it('notifications: one key per fixed mode, both at random while migrating', () => {
    expect(keyring.forNotification('certificate').serial).toBe(CERT);
    expect(keyring.forNotification('public-key').serial).toBe(PUB);
    expect(keyring.forNotification(null).serial).toBe(PUB);
    const serials = new Set(Array.from({ length: 64 }, () => keyring.forNotification('migrating').serial));
    expect(serials).toEqual(new Set([CERT, PUB]));
  });
});

describe('signatureHeaders', () => {
  const verifier = new WechatPayVerifier();
  verifier.trust(PUB, createPublicKey(pub.publicKey));

  it('signs the exact body with the chosen key', () => {
    const h = signatureHeaders(keyring.publicKey, '{"a":1}');
    const result = verifier.verify(
      { timestamp: h['Wechatpay-Timestamp'], nonce: h['Wechatpay-Nonce'], signature: h['Wechatpay-Signature'], serial: h['Wechatpay-Serial'] },
      '{"a":1}',
    );
    expect(result).toEqual({ ok: true, serial: PUB });
    expect(h['Wechatpay-Nonce']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a probe carries WECHATPAY/SIGNTEST/ and a real signature length, and fails verification as a probe', () => {
    const h = signatureHeaders(keyring.publicKey, '{"a":1}', Date.now(), true);
    expect(h['Wechatpay-Signature'].startsWith(SIGNTEST_PREFIX)).toBe(true);
    expect(h['Wechatpay-Signature']).toHaveLength(344);
    const result = verifier.verify(
      { timestamp: h['Wechatpay-Timestamp'], nonce: h['Wechatpay-Nonce'], signature: h['Wechatpay-Signature'], serial: h['Wechatpay-Serial'] },
      '{"a":1}',
    );
    expect(result).toMatchObject({ ok: false, reason: 'signature_probe' });
  });
});
