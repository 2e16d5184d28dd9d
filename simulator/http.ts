// Transport helpers: raw bodies (signatures cover exact bytes, so nothing may parse before we hash),
// WeChat-style signed responses, and the plain JSON/HTML answers of the control API and phone page.
import { randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadPrivateKey, randomHexNonce, responseMessage, signMessage, SIGNATURE_TYPE, unixSeconds } from '../server/wechatpay/crypto';
import type { SimCredentials } from './credentials';
import { errors, type SimApiError } from './errors';

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
 * The two keys WeChat signs with. The request's Wechatpay-Serial picks one (that is how WeChat behaves during
 * a certificate → public-key migration, reference §2.3); anything else gets the public key, the modern default.
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

  select(requestedSerial: string | undefined): SigningKey {
    if (requestedSerial === this.platformCertificate.serial) return this.platformCertificate;
    return this.publicKey;
  }
}

/** The Wechatpay-* header set over `body` with a fresh timestamp and nonce (responses and notifications alike). */
export function signatureHeaders(signer: SigningKey, body: string, now = Date.now()): Record<string, string> {
  const timestamp = unixSeconds(now);
  const nonce = randomHexNonce();
  return {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Serial': signer.serial,
    'Wechatpay-Signature': signMessage(signer.key, responseMessage(timestamp, nonce, body)),
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
export function sendSigned(
  req: IncomingMessage,
  res: ServerResponse,
  keyring: Keyring,
  status: number,
  payload: unknown,
  internalCode = 0,
): void {
  const body = status === 204 || payload === undefined ? '' : JSON.stringify(payload);
  const signer = keyring.select(headerValue(req, 'wechatpay-serial'));
  res.writeHead(status, {
    Server: 'nginx',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-cache, must-revalidate',
    'X-Content-Type-Options': 'nosniff',
    'Content-Language': 'zh-CN',
    'Request-ID': requestId(internalCode),
    ...signatureHeaders(signer, body),
  });
  res.end(body);
}

export function sendSignedError(req: IncomingMessage, res: ServerResponse, keyring: Keyring, error: SimApiError): void {
  sendSigned(req, res, keyring, error.status, error.toBody(), error.internalCode);
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
