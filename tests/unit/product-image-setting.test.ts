// PRODUCT_IMAGE_MAX_BYTES must fit MAX_BODY_BYTES once base64-encoded, or every large upload would be cut
// by the server's body limit with a 413 the console cannot explain: the app refuses to start instead.
import { expect, test } from 'vitest';
import { ConfigError, loadEnv, productImageBodyBytes } from '@/server/env';

test('the default image cap fits the default body limit', () => {
  const env = loadEnv({ NODE_ENV: 'test' });
  expect(productImageBodyBytes(env.PRODUCT_IMAGE_MAX_BYTES)).toBeLessThanOrEqual(env.MAX_BODY_BYTES);
});

test('an image cap that cannot travel within the body limit is refused at start, naming both settings', () => {
  expect(() => loadEnv({ NODE_ENV: 'test', PRODUCT_IMAGE_MAX_BYTES: String(2 * 1024 * 1024) })).toThrow(ConfigError);
  expect(() => loadEnv({ NODE_ENV: 'test', PRODUCT_IMAGE_MAX_BYTES: String(2 * 1024 * 1024) })).toThrow(
    /PRODUCT_IMAGE_MAX_BYTES .* MAX_BODY_BYTES .* at least 2800300/,
  );
  const raised = loadEnv({ NODE_ENV: 'test', PRODUCT_IMAGE_MAX_BYTES: String(2 * 1024 * 1024), MAX_BODY_BYTES: '3000000' });
  expect(raised.PRODUCT_IMAGE_MAX_BYTES).toBe(2 * 1024 * 1024);
});
