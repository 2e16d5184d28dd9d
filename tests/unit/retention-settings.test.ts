// The retention settings refuse, at start-up, what would break a promise: webhook attempts are kept at
// least 30 days, API answers replayed at least 24 hours.
import { expect, it } from 'vitest';
import { ConfigError, loadEnv } from '@/server/env';

it('defaults to 90 days of webhook attempts and 48 hours of idempotency keys', () => {
  const env = loadEnv({ NODE_ENV: 'test' });
  expect(env.WEBHOOK_ATTEMPT_RETENTION_DAYS).toBe(90);
  expect(env.API_IDEMPOTENCY_RETENTION_HOURS).toBe(48);
  expect(loadEnv({ NODE_ENV: 'test', WEBHOOK_ATTEMPT_RETENTION_DAYS: '30', API_IDEMPOTENCY_RETENTION_HOURS: '24' })).toMatchObject({
    WEBHOOK_ATTEMPT_RETENTION_DAYS: 30,
    API_IDEMPOTENCY_RETENTION_HOURS: 24,
  });
});

it('refuses less than 30 days of attempts or 24 hours of keys, naming the setting', () => {
  expect(() => loadEnv({ NODE_ENV: 'test', WEBHOOK_ATTEMPT_RETENTION_DAYS: '29' })).toThrow(ConfigError);
  expect(() => loadEnv({ NODE_ENV: 'test', WEBHOOK_ATTEMPT_RETENTION_DAYS: '29' })).toThrow(/WEBHOOK_ATTEMPT_RETENTION_DAYS.*at least 30/);
  expect(() => loadEnv({ NODE_ENV: 'test', API_IDEMPOTENCY_RETENTION_HOURS: '23' })).toThrow(/API_IDEMPOTENCY_RETENTION_HOURS.*at least 24/);
});
