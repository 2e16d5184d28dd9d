// CertificateManager (reference §10, §14 #8): trusts what it downloads, treats NOT_FOUND as "no certificates",
// shares one download between concurrent callers, refreshes at most once per gap for unknown serials, keeps a
// delisted certificate until it expires, and plugs into WechatPayVerifier for notifications.
import { describe, expect, it, vi } from 'vitest';
import { CertificateManager } from '../../server/wechatpay/certificates';
import type { PlatformCertificate } from '../../server/wechatpay/client';
import { WechatPayApiError } from '../../server/wechatpay/errors';
import { WechatPayVerifier } from '../../server/wechatpay/verifier';
import { keys } from './wechatpay-vectors';

const DAY = 24 * 3600_000;
const NOW = Date.UTC(2026, 0, 1);

function cert(serialNo: string, notBefore = NOW - DAY, notAfter = NOW + 365 * DAY): PlatformCertificate {
  return { serialNo, certificatePem: '', publicKey: keys.platformCertPublic, notBefore: new Date(notBefore), notAfter: new Date(notAfter) };
}

function fakeClient(answers: (PlatformCertificate[] | Error)[]) {
  const calls = { count: 0 };
  return {
    calls,
    client: {
      async downloadCertificates(): Promise<PlatformCertificate[]> {
        const answer = answers[Math.min(calls.count, answers.length - 1)]!;
        calls.count++;
        if (answer instanceof Error) throw answer;
        return answer;
      },
    },
  };
}

function manager(answers: (PlatformCertificate[] | Error)[], verifier = new WechatPayVerifier(), now = () => NOW) {
  const fake = fakeClient(answers);
  return { ...fake, verifier, manager: new CertificateManager({ client: fake.client, verifier, apiv3Key: 'k'.repeat(32), now, minRefreshGapMs: 60_000 }) };
}

describe('CertificateManager', () => {
  it('trusts downloaded certificates in the verifier', async () => {
    const { manager: m, verifier } = manager([[cert('AAA'), cert('BBB')]]);
    await m.refresh();
    expect(verifier.has('AAA') && verifier.has('BBB')).toBe(true);
    expect(m.certificates().map((c) => c.serialNo)).toEqual(['AAA', 'BBB']);
  });

  it('NOT_FOUND (public-key merchant) means no certificates, not an error', async () => {
    const { manager: m } = manager([new WechatPayApiError(404, 'NOT_FOUND', 'no certificates', null)]);
    await expect(m.refresh()).resolves.toEqual([]);
  });

  it('other failures reject and keep what was trusted before', async () => {
    const { manager: m, verifier } = manager([[cert('AAA')], new WechatPayApiError(500, 'SYSTEM_ERROR', 'busy', null)]);
    await m.refresh();
    await expect(m.refresh()).rejects.toBeInstanceOf(WechatPayApiError);
    expect(verifier.has('AAA')).toBe(true);
  });

  it('concurrent refreshes share one download', async () => {
    const { manager: m, calls } = manager([[cert('AAA')]]);
    await Promise.all([m.refresh(), m.refresh(), m.refreshForSerial('AAA')]);
    expect(calls.count).toBe(1);
  });

  it('refreshForSerial: known → no download; unknown → one download per gap, however many forged serials arrive', async () => {
    let now = NOW;
    const { manager: m, calls } = manager([[cert('AAA')], [cert('AAA'), cert('NEW')]], new WechatPayVerifier(), () => now);
    await m.refresh();
    expect(await m.refreshForSerial('AAA')).toBe(true);
    expect(calls.count).toBe(1);
    // Inside the gap since the last download: answered from what is known.
    expect(await m.refreshForSerial('NEW')).toBe(false);
    expect(calls.count).toBe(1);
    now += 61_000;
    expect(await m.refreshForSerial('NEW')).toBe(true);
    expect(calls.count).toBe(2);
    for (let i = 0; i < 20; i++) expect(await m.refreshForSerial(`FORGED${i}`)).toBe(false);
    expect(calls.count).toBe(2);
  });

  it("attach(): a notification with an unknown serial triggers a background refresh, so WeChat's retry verifies", async () => {
    const { manager: m, verifier, calls } = manager([[cert('ROTATED')]]);
    m.attach();
    const result = verifier.verify({ timestamp: String(Math.floor(Date.now() / 1000)), nonce: 'n', signature: 'AAAA', serial: 'ROTATED' }, '{}');
    expect(result).toMatchObject({ ok: false, reason: 'unknown_serial' });
    await vi.waitFor(() => expect(verifier.has('ROTATED')).toBe(true));
    expect(calls.count).toBe(1);
    m.stop(); // detaches too
    verifier.verify({ timestamp: String(Math.floor(Date.now() / 1000)), nonce: 'n', signature: 'AAAA', serial: 'OTHER' }, '{}');
    await vi.waitFor(() => expect(verifier.has('OTHER')).toBe(false));
    expect(calls.count).toBe(1); // detached: the unknown serial started no download
  });

  it('keeps a delisted certificate until it expires, then stops trusting it; never touches keys it did not add', async () => {
    let now = NOW;
    const publicKeyVerifier = new WechatPayVerifier([['PUB_KEY_ID_01', keys.platformPublicKey]]);
    const { manager: m, verifier } = manager([[cert('OLD', NOW - DAY, NOW + DAY)], [cert('NEW')], [cert('NEW')]], publicKeyVerifier, () => now);
    await m.refresh();
    await m.refresh(); // OLD no longer listed, still valid: kept (messages signed before the rotation may be in flight)
    expect(verifier.has('OLD')).toBe(true);
    now += 2 * DAY;
    await m.refresh();
    expect(verifier.has('OLD')).toBe(false);
    expect(verifier.has('NEW')).toBe(true);
    expect(verifier.has('PUB_KEY_ID_01')).toBe(true);
  });

  it('newestSerial is the valid certificate that became valid last', async () => {
    const { manager: m } = manager([[cert('OLDER', NOW - 10 * DAY), cert('NEWER', NOW - DAY), cert('FUTURE', NOW + DAY)]]);
    expect(m.newestSerial()).toBeUndefined();
    await m.refresh();
    expect(m.newestSerial()).toBe('NEWER');
  });

  it('start() refreshes periodically and stop() ends it', async () => {
    const fake = fakeClient([[cert('AAA')]]);
    const m = new CertificateManager({ client: fake.client, verifier: new WechatPayVerifier(), apiv3Key: 'k'.repeat(32), refreshIntervalMs: 20 });
    vi.useFakeTimers();
    try {
      m.start();
      await vi.advanceTimersByTimeAsync(100); // five intervals
      m.stop();
      const seen = fake.calls.count;
      expect(seen).toBeGreaterThanOrEqual(5);
      await vi.advanceTimersByTimeAsync(100);
      expect(fake.calls.count).toBe(seen);
    } finally {
      vi.useRealTimers();
    }
  });
});
