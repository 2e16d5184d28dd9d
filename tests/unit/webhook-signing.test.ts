// Our Standard Webhooks signer against the reference library (standardwebhooks), and the retry schedule.
import { Webhook } from 'standardwebhooks';
import { expect, it } from 'vitest';
import { MAX_ATTEMPTS, parseRetryAfter, RETRY_SCHEDULE_SECONDS, retryDelayMs } from '@/server/webhooks/schedule';
import { newWebhookSecret, signatureHeader, signPayload } from '@/server/webhooks/signing';

it('signs so the reference library verifies, with the new and the old secret during a rotation', () => {
  const [oldSecret, newSecret] = [newWebhookSecret(), newWebhookSecret()];
  const id = 'evt_42';
  const ts = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ id, type: 'payment.succeeded', data: { amountFen: 1 } });
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([newSecret, oldSecret], id, ts, body) };
  expect(new Webhook(newSecret).verify(body, headers)).toMatchObject({ id });
  expect(new Webhook(oldSecret).verify(body, headers)).toMatchObject({ id });
  expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow(/No matching signature/);
  expect(() => new Webhook(newSecret).verify(`${body} `, headers)).toThrow(/No matching signature/);
  // Same bytes as the reference signer.
  expect(signPayload(newSecret, id, ts, body)).toBe(new Webhook(newSecret).sign(id, new Date(ts * 1000), body));
  // A stale timestamp is refused by receivers: hence a fresh timestamp on every attempt.
  const old = ts - 301;
  expect(() =>
    new Webhook(newSecret).verify(body, { ...headers, 'webhook-timestamp': String(old), 'webhook-signature': signPayload(newSecret, id, old, body) }),
  ).toThrow(/too old/);
});

it('retries over more than 3 days, scaled, with ±10% jitter, Retry-After as a floor', () => {
  expect(MAX_ATTEMPTS).toBe(10);
  const total = RETRY_SCHEDULE_SECONDS.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(3 * 86_400);
  expect(retryDelayMs(2, 1, null, () => 0.5)).toBe(5_000);
  expect(retryDelayMs(3, 0.01, null, () => 0.5)).toBe(3_000);
  expect(retryDelayMs(3, 1, null, () => 0)).toBe(270_000);
  expect(retryDelayMs(3, 1, null, () => 1)).toBe(330_000);
  expect(retryDelayMs(2, 1, 120, () => 0.5)).toBe(120_000);
  expect(retryDelayMs(2, 1, 10 ** 9, () => 0.5)).toBe(86_400_000);
  expect(retryDelayMs(MAX_ATTEMPTS + 1, 1, null)).toBeNull();
  expect(parseRetryAfter('7')).toBe(7);
  expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(29);
  expect(parseRetryAfter('soon')).toBeNull();
});
