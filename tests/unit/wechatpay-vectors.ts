// Loads the published WeChat Pay test keys and derived vectors (reference §12, shared/wechatpay-vectors/).
// Looked up in the repository first so a clone can carry its own copy; WECHATPAY_VECTORS_DIR overrides.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { loadPrivateKey, loadPublicKey } from '../../server/wechatpay/crypto';

const here = dirname(fileURLToPath(import.meta.url));
const candidates = [process.env.WECHATPAY_VECTORS_DIR, resolve(here, '../fixtures/wechatpay-vectors'), '/work/shared/wechatpay-vectors'].filter(
  (d): d is string => !!d,
);
export const VECTORS_DIR = candidates.find((d) => existsSync(join(d, 'vectors.json'))) ?? candidates[candidates.length - 1]!;

interface SignedVector {
  key: string;
  timestamp: string;
  nonce: string;
  body: string;
  signature: string;
}
export interface Vectors {
  mchid: string;
  appid: string;
  apiv3_key: string;
  merchant_serial: string;
  platform_serial: string;
  request_post: SignedVector & { method: string; url: string };
  request_get: SignedVector & { method: string; url: string };
  response_json: SignedVector;
  response_204: SignedVector;
  notification: SignedVector & { serial: string; resource_nonce: string; associated_data: string; plaintext: string };
}

export const vectors: Vectors = JSON.parse(readFileSync(join(VECTORS_DIR, 'vectors.json'), 'utf8'));
export const pem = (name: string): string => readFileSync(join(VECTORS_DIR, name), 'utf8');

export const keys: {
  merchantPrivate: KeyObject;
  merchantPublic: KeyObject;
  platformPrivate: KeyObject;
  platformCertPublic: KeyObject;
  platformPublicKey: KeyObject;
} = {
  merchantPrivate: loadPrivateKey(pem('merchant_private_key.pem')),
  merchantPublic: loadPublicKey(pem('merchant_certificate.pem')),
  platformPrivate: loadPrivateKey(pem('wechat_pay_private_key.pem')),
  platformCertPublic: loadPublicKey(pem('wechat_pay_certificate.pem')),
  platformPublicKey: loadPublicKey(pem('wechat_pay_public_key.pem')),
};

/** A Fetch-like headers object from a plain record (case-insensitive get). */
export function headersOf(record: Record<string, string | undefined>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(record)) if (v !== undefined) h.set(k, v);
  return h;
}
