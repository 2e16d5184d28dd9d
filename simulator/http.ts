// Transport helpers: raw bodies (signatures cover exact bytes, so nothing may parse before we hash),
// WeChat-style signed responses, and the plain JSON/HTML answers of the control API and phone page.
import { randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadPrivateKey, randomHexNonce, responseMessage, signMessage, SIGNATURE_TYPE, SIGNTEST_PREFIX, unixSeconds } from '../server/wechatpay/crypto';
import type { SimCredentials } from './credentials';
import { errors, type SimApiError } from './errors';
import { chance, type Faults, type KeyMode } from './faults';

export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor() {
    super('request body exceeds the size limit');
    this.name = 'BodyTooLargeError';
  }
}

/** Reads the whole body as bytes, refusing (and draining) anything above `limit` without buffering it. */
export async function readRawBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new BodyTooLargeError();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  if (tooLarge) throw new BodyTooLargeError();
  return Buffer.concat(chunks);
}

export interface SigningKey {
  /** What goes into Wechatpay-Serial: the platform certificate serial or the public key id. */
  serial: string;
  key: KeyObject;
}

/**
 * The two keys WeChat signs with, and which one signs what (reference §2.3):
 * - keyMode `certificate`: a merchant on platform certificates — everything is signed with the certificate key;
 * - keyMode `public-key`: a merchant on the WeChat Pay public key — everything is signed with it;
 * - keyMode `migrating`: responses are signed with the key the request names in Wechatpay-Serial (the
 *   certificate when it names neither: that is what WeChat does before the merchant flips the switch), and
 *   notifications at random by either key, as WeChat does during the migration period;
 * - no mode forced (the default): responses follow Wechatpay-Serial when it names one of the two keys and use
 *   the public key otherwise; notifications use the public key.
 */
export class Keyring {
  readonly publicKey: SigningKey;
  readonly platformCertificate: SigningKey;

  constructor(credentials: SimCredentials) {
    this.publicKey = { serial: credentials.wechatpayPublicKey.id, key: loadPrivateKey(credentials.wechatpayPublicKey.privateKeyPem) };
    this.platformCertificate = {
      serial: credentials.platformCertificate.serial,
      key: loadPrivateKey(credentials.platformCertificate.privateKeyPem),
    };
  }

  forResponse(requestedSerial: string | undefined, keyMode: KeyMode | null = null): SigningKey {
    switch (keyMode) {
      case 'certificate':
        return this.platformCertificate;
      case 'public-key':
        return this.publicKey;
      case 'migrating':
        return requestedSerial === this.publicKey.serial ? this.publicKey : this.platformCertificate;
      default:
        return requestedSerial === this.platformCertificate.serial ? this.platformCertificate : this.publicKey;
    }
  }

  forNotification(keyMode: KeyMode | null = null): SigningKey {
    switch (keyMode) {
      case 'certificate':
        return this.platformCertificate;
      case 'migrating':
        return Math.random() < 0.5 ? this.platformCertificate : this.publicKey;
      default:
        return this.publicKey;
    }
  }
}

/** How one response is signed: with which key, and whether it is a deliberate probe (probeSignatureRate). */
export interface ResponseSigner {
  signer: SigningKey;
  probe: boolean;
}

export function responseSigner(req: IncomingMessage, keyring: Keyring, faults: Pick<Faults, 'keyMode' | 'probeSignatureRate'>): ResponseSigner {
  return { signer: keyring.forResponse(headerValue(req, 'wechatpay-serial'), faults.keyMode), probe: chance(faults.probeSignatureRate) };
}

/**
 * The Wechatpay-* header set over `body` with a fresh timestamp and nonce (responses and notifications alike).
 * A probe carries `WECHATPAY/SIGNTEST/` + random Base64 of a real signature's length instead of a signature
 * (reference §2.4): not valid Base64 as a whole, so a verifier that decodes it blindly crashes, as WeChat intends.
 */
export interface SignatureHeaderSet {
  'Wechatpay-Timestamp': string;
  'Wechatpay-Nonce': string;
  'Wechatpay-Serial': string;
  'Wechatpay-Signature': string;
  'Wechatpay-Signature-Type': string;
}

export function signatureHeaders(signer: SigningKey, body: string, now = Date.now(), probe = false): SignatureHeaderSet {
  const timestamp = unixSeconds(now);
  const nonce = randomHexNonce();
  const signature = probe
    ? `${SIGNTEST_PREFIX}${randomBytes(256).toString('base64').slice(SIGNTEST_PREFIX.length)}`
    : signMessage(signer.key, responseMessage(timestamp, nonce, body));
  return {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Serial': signer.serial,
    'Wechatpay-Signature': signature,
    'Wechatpay-Signature-Type': SIGNATURE_TYPE,
  };
}

/** `<40 hex>-<internal code>`, `-0` on success (reference §2.1). */
export function requestId(internalCode = 0): string {
  return `${randomBytes(20).toString('hex').toUpperCase()}-${internalCode}`;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Sends a v3 API answer the way WeChat does: compact JSON (or nothing for 204), every status signed, with the
 * nginx-ish headers real responses carry. The signature covers exactly the bytes written.
 */
export function sendSigned(res: ServerResponse, signing: ResponseSigner, status: number, payload: unknown, internalCode = 0): void {
  const body = status === 204 || payload === undefined ? '' : JSON.stringify(payload);
  res.writeHead(status, {
    Server: 'nginx',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-cache, must-revalidate',
    'X-Content-Type-Options': 'nosniff',
    'Content-Language': 'zh-CN',
    'Request-ID': requestId(internalCode),
    ...signatureHeaders(signing.signer, body, Date.now(), signing.probe),
  });
  res.end(body);
}

export function sendSignedError(res: ServerResponse, signing: ResponseSigner, error: SimApiError): void {
  sendSigned(res, signing, error.status, error.toBody(), error.internalCode);
}

/**
 * A bill file (reference §8.3): no Wechatpay-* signature headers at all — WeChat does not sign downloads and
 * clients must not expect it — but still a Request-ID.
 */
export function sendBillFile(res: ServerResponse, content: Buffer, gzip: boolean): void {
  res.writeHead(200, {
    Server: 'nginx',
    'Content-Type': gzip ? 'application/x-gzip' : 'text/plain; charset=utf-8',
    'Content-Length': String(content.length),
    'Cache-Control': 'no-cache, must-revalidate',
    'Request-ID': requestId(0),
  });
  res.end(content);
}

/** Unsigned JSON for the simulator's own control API (not part of the WeChat surface). */
export function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(html)),
    'Cache-Control': 'no-store',
    // Everything is inline and the only form posts back here.
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(html);
}

/** Maps body-reading failures onto WeChat's error vocabulary. */
export function bodyError(err: unknown): SimApiError | null {
  return err instanceof BodyTooLargeError ? errors.bodyTooLarge() : null;
}
