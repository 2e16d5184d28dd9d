// Platform certificates in certificate mode (reference §2.3, §10, §14 #8): download them from
// GET /v3/certificates, decrypt with the APIv3 key, trust them in the WechatPayVerifier, refresh periodically,
// and refresh once more when a message names a serial nobody knows (WeChat rotated its certificate).
//
// Wiring (the client needs the manager's hooks and the manager needs the client, hence the late binding):
//   const verifier = new WechatPayVerifier(publicKey ? [[publicKeyId, publicKey]] : []);
//   let manager: CertificateManager;
//   const client = new WechatPayClient({ ..., verifier,
//     acceptSerial: () => publicKeyId ?? manager.newestSerial(),
//     onUnknownSerial: (serial) => manager.refreshForSerial(serial) });
//   manager = new CertificateManager({ client, verifier, apiv3Key });
//   manager.attach();          // notifications with an unknown serial trigger a background refresh
//   await manager.refresh();   // before serving: the first download
//   manager.start();           // periodic refresh; manager.stop() on shutdown
import type { PlatformCertificate, WechatPayClient } from './client';
import { WechatPayApiError } from './errors';
import type { WechatPayVerifier } from './verifier';

export interface CertificateManagerOptions {
  client: Pick<WechatPayClient, 'downloadCertificates'>;
  verifier: WechatPayVerifier;
  apiv3Key: string;
  /** Periodic refresh; default 12 h (the GO SDK uses 24 h, JAVA 60 min — reference §10). */
  refreshIntervalMs?: number;
  /**
   * On-demand refreshes (unknown serial) happen at most once per this interval, default 60 s: anyone can send
   * a notification naming a made-up serial, and that must not turn into a download per request.
   */
  minRefreshGapMs?: number;
  /** Periodic refresh failures (the certificates already trusted stay trusted). Default: ignored. */
  onError?: (err: unknown) => void;
  now?: () => number;
}

export class CertificateManager {
  private readonly client: Pick<WechatPayClient, 'downloadCertificates'>;
  private readonly verifier: WechatPayVerifier;
  private readonly apiv3Key: string;
  private readonly refreshIntervalMs: number;
  private readonly minRefreshGapMs: number;
  private readonly onError: (err: unknown) => void;
  private readonly now: () => number;
  private current: PlatformCertificate[] = [];
  /** Serials this manager put into the verifier (never the public key or anything trusted by someone else). */
  private readonly managed = new Set<string>();
  private inFlight: Promise<PlatformCertificate[]> | null = null;
  private lastAttemptAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: CertificateManagerOptions) {
    this.client = options.client;
    this.verifier = options.verifier;
    this.apiv3Key = options.apiv3Key;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 12 * 3600_000;
    this.minRefreshGapMs = options.minRefreshGapMs ?? 60_000;
    this.onError = options.onError ?? (() => {});
    this.now = options.now ?? Date.now;
  }

  /**
   * Downloads and trusts the current certificates; concurrent callers share one download. Rejects on failure
   * (the previously trusted certificates stay). A merchant without certificates (public-key mode, answer
   * NOT_FOUND) simply has none.
   */
  refresh(): Promise<PlatformCertificate[]> {
    this.inFlight ??= this.download().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /**
   * For an unknown serial: true when it is (now) trusted. Refreshes at most once per minRefreshGapMs; inside
   * that window it answers from what is known, without a download.
   */
  async refreshForSerial(serial: string): Promise<boolean> {
    if (this.verifier.has(serial)) return true;
    if (this.inFlight) await this.inFlight.catch(() => {});
    else if (this.now() - this.lastAttemptAt >= this.minRefreshGapMs) await this.refresh().catch(() => {});
    return this.verifier.has(serial);
  }

  /** Makes the verifier ask for a refresh (in the background) whenever it meets an unknown serial. */
  attach(): void {
    this.verifier.onUnknownSerial((serial) => {
      void this.refreshForSerial(serial);
    });
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.onError(err));
    }, this.refreshIntervalMs);
    this.timer.unref(); // never the reason a process stays alive
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.verifier.onUnknownSerial(undefined);
  }

  certificates(): readonly PlatformCertificate[] {
    return this.current;
  }

  /**
   * The serial to send as Wechatpay-Serial: the valid certificate that became valid last (GO's rule, §10),
   * i.e. the one WeChat rotates towards.
   */
  newestSerial(): string | undefined {
    const now = this.now();
    const valid = this.current.filter((c) => c.notBefore.getTime() <= now && c.notAfter.getTime() > now);
    const pool = valid.length ? valid : this.current;
    return pool.reduce<PlatformCertificate | undefined>((best, c) => (!best || c.notBefore > best.notBefore ? c : best), undefined)?.serialNo;
  }

  private async download(): Promise<PlatformCertificate[]> {
    this.lastAttemptAt = this.now();
    let downloaded: PlatformCertificate[];
    try {
      downloaded = await this.client.downloadCertificates(this.apiv3Key);
    } catch (err) {
      // Public-key-only merchants have no certificates (JAVA treats NOT_FOUND the same way, §2.3).
      if (err instanceof WechatPayApiError && err.code === 'NOT_FOUND') downloaded = [];
      else throw err;
    }
    const now = this.now();
    const listed = new Set(downloaded.map((c) => c.serialNo));
    for (const c of downloaded) {
      this.verifier.trust(c.serialNo, c.publicKey);
      this.managed.add(c.serialNo);
    }
    // A certificate WeChat stopped listing keeps working until it expires: messages signed just before a
    // rotation may still be in flight (notification retries last 24 h).
    const kept = this.current.filter((c) => !listed.has(c.serialNo) && c.notAfter.getTime() > now);
    for (const serial of this.managed) {
      if (!listed.has(serial) && !kept.some((c) => c.serialNo === serial)) {
        this.verifier.distrust(serial);
        this.managed.delete(serial);
      }
    }
    this.current = [...downloaded, ...kept];
    return this.current;
  }
}
