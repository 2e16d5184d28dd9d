// Standard Webhooks signatures (spec v1): `v1,<base64 HMAC-SHA256 over "id.timestamp.body">` with the
// base64-decoded secret after its `whsec_` prefix; several signatures separated by spaces (rotation).
// Interop is tested against the reference `standardwebhooks` library.
import { createHmac, randomBytes } from 'node:crypto';

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function signPayload(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The webhook-signature header: one signature per secret still valid (the new one first). */
export function signatureHeader(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  return secrets.map((s) => signPayload(s, id, timestampSeconds, body)).join(' ');
}
