// Verification of WeChat-signed messages (responses and notifications), reference §2.
// The key is chosen by Wechatpay-Serial: platform-certificate serials and the WeChat Pay public-key id
// (PUB_KEY_ID_...) live in one map, so certificate mode, public-key mode and the migration period
// (both at once) are the same code path.
import type { KeyObject } from 'node:crypto';
import { isTimestampFresh, responseMessage, SIGNTEST_PREFIX, SIGNATURE_TYPE, verifyMessage } from './crypto';

export type VerificationFailure = 'missing_headers' | 'unsupported_signature_type' | 'stale_timestamp' | 'unknown_serial' | 'signature_probe' | 'bad_signature';

export type VerificationResult = { ok: true; serial: string } | { ok: false; reason: VerificationFailure; serial?: string };

/** The signature headers WeChat sends, read case-insensitively by the caller. */
export interface SignatureHeaders {
  timestamp: string | null;
  nonce: string | null;
  signature: string | null;
  serial: string | null;
  signatureType?: string | null;
}

/** Reads the Wechatpay-* headers from a Fetch Headers object (or anything with get()). */
export function readSignatureHeaders(headers: { get(name: string): string | null }): SignatureHeaders {
  return {
    timestamp: headers.get('wechatpay-timestamp'),
    nonce: headers.get('wechatpay-nonce'),
    signature: headers.get('wechatpay-signature'),
    serial: headers.get('wechatpay-serial'),
    signatureType: headers.get('wechatpay-signature-type'),
  };
}

export class WechatPayVerifier {
  private readonly keys = new Map<string, KeyObject>();
  private unknownSerialListener?: (serial: string) => void;

  constructor(entries: Iterable<[serial: string, key: KeyObject]> = []) {
    for (const [serial, key] of entries) this.keys.set(serial, key);
  }

  /** Adds or replaces a trusted key (a downloaded platform certificate, or the public key by its id). */
  trust(serial: string, key: KeyObject): void {
    this.keys.set(serial, key);
  }

  /** Stops trusting a key (an expired platform certificate). */
  distrust(serial: string): void {
    this.keys.delete(serial);
  }

  /**
   * Called, without waiting, whenever a message names a serial this verifier does not know — in certificate
   * mode the sign of a rotated platform certificate. CertificateManager.attach() plugs its refresh in here, so
   * a notification refused for an unknown serial verifies when WeChat retries it. The listener must not throw
   * (a throw is swallowed) and verify() stays synchronous.
   */
  onUnknownSerial(listener: ((serial: string) => void) | undefined): void {
    this.unknownSerialListener = listener;
  }

  /** The trusted key of a serial (also the key sensitive request fields are encrypted for). */
  keyOf(serial: string): KeyObject | undefined {
    return this.keys.get(serial);
  }

  has(serial: string): boolean {
    return this.keys.has(serial);
  }

  serials(): string[] {
    return [...this.keys.keys()];
  }

  /**
   * Verifies `timestamp\nnonce\nbody\n` over the exact body bytes received. Checks, in order: headers present,
   * signature type, timestamp within ±5 minutes, serial known, signature valid. Never throws.
   */
  verify(h: SignatureHeaders, body: string | Buffer, now: number = Date.now()): VerificationResult {
    const { timestamp, nonce, signature, serial } = h;
    if (!timestamp || !nonce || !signature || !serial) return { ok: false, reason: 'missing_headers' };
    if (h.signatureType && h.signatureType !== SIGNATURE_TYPE) {
      return { ok: false, reason: 'unsupported_signature_type', serial };
    }
    if (!isTimestampFresh(timestamp, now)) return { ok: false, reason: 'stale_timestamp', serial };
    const key = this.keys.get(serial);
    if (!key) {
      try {
        this.unknownSerialListener?.(serial);
      } catch {
        // verification must never throw; a broken listener only loses its refresh
      }
      return { ok: false, reason: 'unknown_serial', serial };
    }
    if (signature.startsWith(SIGNTEST_PREFIX)) return { ok: false, reason: 'signature_probe', serial };
    const message =
      typeof body === 'string' ? responseMessage(timestamp, nonce, body) : Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`), body, Buffer.from('\n')]);
    return verifyMessage(key, message, signature) ? { ok: true, serial } : { ok: false, reason: 'bad_signature', serial };
  }
}
