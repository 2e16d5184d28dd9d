// Parsing of WeChat Pay notifications (reference §2, §6, §7.3, §11): verify → envelope → decrypt → JSON.
// The order matters: the signature is checked over the exact received body *before* anything in it is
// believed, and the result says precisely which step failed so the notify route can record it and
// answer 4xx (WeChat then resends — including after its deliberate SIGNTEST probes, §2.4).
// Never throws: a notify endpoint that crashes on hostile input answers 500 and logs a stack for nothing.
import { aesGcmDecrypt } from './crypto';
import { NotificationEnvelope, RefundNotificationResource, Transaction, describeZodError } from './schemas';
import { readSignatureHeaders, type VerificationFailure, type WechatPayVerifier } from './verifier';

export const NOTIFICATION_ALGORITHM = 'AEAD_AES_256_GCM';

export type NotificationFailure = VerificationFailure | 'malformed_envelope' | 'unsupported_algorithm' | 'decrypt_failed' | 'malformed_resource';

export type NotificationResult =
  | {
      ok: true;
      envelope: NotificationEnvelope;
      /** The decrypted resource exactly as WeChat encrypted it (store it; it is the evidence). */
      plaintext: string;
      /** JSON.parse(plaintext); validate with parseTransactionResource / parseRefundResource by event_type. */
      resource: unknown;
      /** Wechatpay-Serial of the key that verified the signature (platform serial or PUB_KEY_ID_…). */
      serial: string;
    }
  | { ok: false; reason: NotificationFailure; detail?: string };

export interface ParseNotificationInput {
  headers: { get(name: string): string | null };
  /** The raw request body, read once (`await req.text()`), never a re-serialisation of parsed JSON. */
  body: string | Uint8Array;
  verifier: WechatPayVerifier;
  /** The 32-character APIv3 key as typed in the merchant platform (its UTF-8 bytes are the AES key). */
  apiv3Key: string;
  /** Epoch ms for the ±5 min timestamp check; defaults to Date.now(). */
  now?: number;
}

export function parseNotification(input: ParseNotificationInput): NotificationResult {
  const { verifier, apiv3Key, now = Date.now() } = input;
  const raw = typeof input.body === 'string' || Buffer.isBuffer(input.body) ? input.body : Buffer.from(input.body);

  let verdict: ReturnType<WechatPayVerifier['verify']>;
  try {
    verdict = verifier.verify(readSignatureHeaders(input.headers), raw, now);
  } catch {
    // The verifier is documented never to throw; a throwing headers object is the only realistic cause.
    return { ok: false, reason: 'missing_headers', detail: 'headers could not be read' };
  }
  if (!verdict.ok) return { ok: false, reason: verdict.reason };

  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed_envelope', detail: 'body is not JSON' };
  }
  const envelope = NotificationEnvelope.safeParse(json);
  if (!envelope.success) return { ok: false, reason: 'malformed_envelope', detail: describeZodError(envelope.error) };

  const resource = envelope.data.resource;
  // Refuse anything but the one algorithm we implement rather than guess (GO does the same, §11).
  if (resource.algorithm !== NOTIFICATION_ALGORITHM) {
    return { ok: false, reason: 'unsupported_algorithm', detail: resource.algorithm.slice(0, 40) };
  }

  let plaintext: string;
  try {
    // associated_data exactly as given, "" when absent — never a hard-coded "transaction" (§14 #11).
    plaintext = aesGcmDecrypt(apiv3Key, resource.nonce, resource.associated_data ?? '', resource.ciphertext);
  } catch (err) {
    // AesGcmError messages name the failure class only (bad Base64, key size, tag mismatch), never the key.
    return { ok: false, reason: 'decrypt_failed', detail: err instanceof Error ? err.message : undefined };
  }

  let parsedResource: unknown;
  try {
    parsedResource = JSON.parse(plaintext);
  } catch {
    return { ok: false, reason: 'malformed_resource', detail: 'decrypted resource is not JSON' };
  }
  return { ok: true, envelope: envelope.data, plaintext, resource: parsedResource, serial: verdict.serial };
}

/** Resource of TRANSACTION.* events: the same transaction object as a query answer (§6.3). */
export function parseTransactionResource(resource: unknown) {
  return Transaction.safeParse(resource);
}

/** Resource of REFUND.* events (`refund_status`, not `status` — §7.3). */
export function parseRefundResource(resource: unknown) {
  return RefundNotificationResource.safeParse(resource);
}
