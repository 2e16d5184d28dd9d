// WeChat Pay API v3 cryptographic primitives (reference: shared/wechatpay-v3.md §1, §2, §6.3).
// Pure functions over bytes and KeyObjects: no I/O, no framework. Both the merchant side (server/)
// and the simulator (WeChat's side) use these, and tests pin them to the published vectors.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  createSign,
  createVerify,
  constants as cryptoConstants,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';

export const SIGNATURE_SCHEME = 'WECHATPAY2-SHA256-RSA2048';
export const SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';
/** WeChat's deliberate bad-signature probes start with this (reference §2.4). */
export const SIGNTEST_PREFIX = 'WECHATPAY/SIGNTEST/';
/** Allowed clock skew between the two sides, in seconds (reference §2.5). */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;

/**
 * The request message the merchant signs: five lines, each ending in "\n", the last one included.
 * `url` is the exact request-target sent (path plus raw query), `body` the exact bytes sent ('' for GET).
 */
export function requestMessage(method: string, url: string, timestamp: string, nonce: string, body: string): string {
  return `${method.toUpperCase()}\n${url}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** The message WeChat signs on responses and notifications: three lines, each ending in "\n". */
export function responseMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

/** SHA256withRSA (PKCS#1 v1.5), Base64. Deterministic for a given key and message. */
export function signMessage(privateKey: KeyObject, message: string | Buffer): string {
  const signer = createSign('RSA-SHA256');
  signer.update(message);
  return signer.sign(privateKey, 'base64');
}

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Verifies a Base64 SHA256withRSA signature. Never throws: a probe signature (WECHATPAY/SIGNTEST/...),
 * a non-Base64 value or a wrong key all simply fail.
 */
export function verifyMessage(publicKey: KeyObject, message: string | Buffer, signature: string): boolean {
  if (!signature || signature.startsWith(SIGNTEST_PREFIX) || signature.length % 4 !== 0 || !BASE64_RE.test(signature)) {
    return false;
  }
  try {
    const verifier = createVerify('RSA-SHA256');
    verifier.update(message);
    return verifier.verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

/** Random alphanumeric string (request nonces: 32 chars; resource nonces: 12 chars). */
export function randomNonce(length = 32): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** 32 lower-case hex characters, the shape WeChat uses for Wechatpay-Nonce. */
export function randomHexNonce(): string {
  return randomBytes(16).toString('hex');
}

/** Current Unix time in whole seconds, as the 10-digit string the protocol wants. */
export function unixSeconds(now: number = Date.now()): string {
  return String(Math.floor(now / 1000));
}

export class AesGcmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AesGcmError';
  }
}

function aesAlgorithm(key: Buffer): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  switch (key.length) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      throw new AesGcmError(`APIv3 key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
}

/**
 * AEAD_AES_256_GCM decryption of a notification/certificate resource (reference §6.3): key, nonce and AAD
 * are the UTF-8 bytes of the strings as given (never Base64-decoded); the ciphertext is Base64 of
 * ciphertext || 16-byte tag. The tag is always checked. Throws AesGcmError on any failure.
 */
// The APIv3 key as a KeyObject, made once per key rather than from the raw bytes on every decryption (its
// cost on the notify path is in docs/benchmarks.md). A merchant has one key (two during rotation).
const secretKeys = new Map<string, { key: KeyObject; algorithm: ReturnType<typeof aesAlgorithm> }>();
function apiv3SecretKey(apiv3Key: string) {
  let entry = secretKeys.get(apiv3Key);
  if (!entry) {
    const raw = Buffer.from(apiv3Key, 'utf8');
    entry = { algorithm: aesAlgorithm(raw), key: createSecretKey(raw) };
    if (secretKeys.size >= 4) secretKeys.clear();
    secretKeys.set(apiv3Key, entry);
  }
  return entry;
}

export function aesGcmDecrypt(apiv3Key: string, nonce: string, associatedData: string, ciphertextBase64: string): string {
  const { key, algorithm } = apiv3SecretKey(apiv3Key);
  if (!ciphertextBase64 || !BASE64_RE.test(ciphertextBase64) || ciphertextBase64.length % 4 !== 0) {
    throw new AesGcmError('ciphertext is not Base64');
  }
  const data = Buffer.from(ciphertextBase64, 'base64');
  if (data.length < 16) throw new AesGcmError('ciphertext shorter than the GCM tag');
  const tag = data.subarray(data.length - 16);
  const body = data.subarray(0, data.length - 16);
  try {
    const decipher = createDecipheriv(algorithm, key, Buffer.from(nonce, 'utf8'));
    decipher.setAuthTag(tag);
    decipher.setAAD(Buffer.from(associatedData ?? '', 'utf8'));
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new AesGcmError('authentication failed (wrong key, nonce, associated data or tampered ciphertext)');
  }
}

/** The inverse of aesGcmDecrypt: Base64(ciphertext || tag). Used by the simulator and tests. */
export function aesGcmEncrypt(apiv3Key: string, nonce: string, associatedData: string, plaintext: string): string {
  const key = Buffer.from(apiv3Key, 'utf8');
  const cipher = createCipheriv(aesAlgorithm(key), key, Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData ?? '', 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([body, cipher.getAuthTag()]).toString('base64');
}

export interface AuthorizationParams {
  mchid: string;
  nonce_str: string;
  timestamp: string;
  serial_no: string;
  signature: string;
}

/** Builds the Authorization header value (parameter order is free; this is the GO/JAVA order). */
export function formatAuthorization(p: AuthorizationParams): string {
  return (
    `${SIGNATURE_SCHEME} mchid="${p.mchid}",nonce_str="${p.nonce_str}",timestamp="${p.timestamp}",` + `serial_no="${p.serial_no}",signature="${p.signature}"`
  );
}

/**
 * Parses an Authorization header in any parameter order (reference §1.1): split on the first space,
 * then on ",", then on the first "=", trimming quotes. Returns null when the scheme or a parameter is missing.
 */
export function parseAuthorization(header: string | null | undefined): AuthorizationParams | null {
  if (!header) return null;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space) !== SIGNATURE_SCHEME) return null;
  const params: Record<string, string> = {};
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    const key = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    params[key] = value;
  }
  const { mchid, nonce_str, timestamp, serial_no, signature } = params;
  if (!mchid || !nonce_str || !timestamp || !serial_no || !signature) return null;
  return { mchid, nonce_str, timestamp, serial_no, signature };
}

/** Parses a PEM private key once (PKCS#8 or PKCS#1); keep the KeyObject, never re-parse per call. */
export function loadPrivateKey(pem: string): KeyObject {
  return createPrivateKey({ key: pem, format: 'pem' });
}

/** Accepts a PEM public key or an X.509 certificate and returns the public KeyObject. */
export function loadPublicKey(pem: string): KeyObject {
  if (pem.includes('BEGIN CERTIFICATE')) return new X509Certificate(pem).publicKey;
  return createPublicKey({ key: pem, format: 'pem' });
}

/** Upper-case hex serial of an X.509 certificate, as WeChat writes it (no colons, no leading zeros stripped). */
export function certificateSerial(certificatePem: string): string {
  return new X509Certificate(certificatePem).serialNumber.toUpperCase();
}

/** True when |now − timestamp| ≤ tolerance. A non-numeric timestamp is never fresh. */
export function isTimestampFresh(timestamp: string, now: number = Date.now(), toleranceSeconds = TIMESTAMP_TOLERANCE_SECONDS): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(Math.floor(now / 1000) - Number(timestamp)) <= toleranceSeconds;
}

/**
 * Sensitive request fields (bank account, real name — e.g. apply-abnormal-refund) are encrypted with WeChat's
 * public key (the WeChat Pay public key or the platform certificate named in `Wechatpay-Serial`): RSA-OAEP with
 * SHA-1 and MGF1-SHA-1 (OpenSSL's RSA_PKCS1_OAEP_PADDING, what the official SDKs use), Base64. Randomised, so
 * the same plaintext never encrypts to the same ciphertext twice.
 */
export function encryptSensitive(publicKey: KeyObject, plaintext: string): string {
  return publicEncrypt({ key: publicKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(plaintext, 'utf8')).toString(
    'base64',
  );
}

/** The inverse of encryptSensitive, with the private key (WeChat's side; throws on a wrong key or bad input). */
export function decryptSensitive(privateKey: KeyObject, ciphertextBase64: string): string {
  const bytes = Buffer.from(ciphertextBase64, 'base64');
  if (bytes.length === 0 || bytes.toString('base64') !== ciphertextBase64.replace(/\s+/g, '')) throw new Error('ciphertext is not Base64');
  return privateDecrypt({ key: privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, bytes).toString('utf8');
}
