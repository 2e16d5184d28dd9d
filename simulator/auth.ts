// Inbound request verification, in the order WeChat's gateway appears to apply it (reference §1.4, §1.5, §13).
// The signed message is rebuilt from the request-target exactly as received (node's req.url is the raw
// target, percent-encoding untouched) and the body bytes exactly as received; nothing is re-serialised.
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isTimestampFresh, parseAuthorization, verifyMessage } from '../server/wechatpay/crypto';
import { errors } from './errors';

export interface MerchantIdentity {
  mchid: string;
  serial: string;
  /** Public key of the merchant API certificate. */
  key: KeyObject;
}

/** Throws a SimApiError when the request would be refused by WeChat; returns the Authorization mchid otherwise. */
export function verifyRequest(req: IncomingMessage, rawBody: Buffer, merchant: MerchantIdentity, now = Date.now()): string {
  if (!req.headers.accept || !req.headers['user-agent']) throw errors.missingAcceptOrUserAgent();

  const auth = parseAuthorization(req.headers.authorization);
  if (!auth) throw errors.badAuthorization();
  if (auth.mchid !== merchant.mchid) throw errors.mchNotExists();
  if (auth.serial_no !== merchant.serial) throw errors.unknownSerial();
  if (!isTimestampFresh(auth.timestamp, now)) throw errors.staleTimestamp();

  const head = `${(req.method ?? '').toUpperCase()}\n${req.url ?? ''}\n${auth.timestamp}\n${auth.nonce_str}\n`;
  const message = Buffer.concat([Buffer.from(head, 'utf8'), rawBody, Buffer.from('\n')]);
  if (!verifyMessage(merchant.key, message, auth.signature)) throw errors.badSignature();
  return auth.mchid;
}
