// Identifiers and timestamps in the shapes WeChat produces (reference §3.2, §4.1, §6.2).
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { randomNonce } from '../server/wechatpay/crypto';

const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

/** RFC 3339 in Beijing time, second precision, e.g. `2018-06-08T10:34:56+08:00` — WeChat's own format. */
export function beijingTime(date: Date): string {
  return `${new Date(date.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

/** `weixin://wxpay/bizpayurl?pr=` + 10 random characters; each (re-)order gets a new one. */
export function newCodeUrl(): string {
  return `weixin://wxpay/bizpayurl?pr=${randomNonce(10)}`;
}

/** 28 digits, `4200` + 6 digits + yyyyMMdd (Beijing) + 10 digits, like `4200001863202305068344507881`. */
export function newTransactionId(now: Date): string {
  const day = beijingTime(now).slice(0, 10).replaceAll('-', '');
  return `4200${digits(6)}${day}${digits(10)}`;
}

/** A payer openid: 28 characters of [A-Za-z0-9_-] starting with `o`. Each simulated payment is a new shopper. */
export function newOpenid(): string {
  return `o${randomBytes(21).toString('base64url').slice(0, 27)}`;
}

/** Notification ids look like UUIDs in the SDK tests (reference §6.2). */
export function newNotificationId(): string {
  return randomUUID();
}

function digits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(randomInt(10));
  return out;
}
