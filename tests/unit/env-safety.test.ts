// Safe defaults of the configuration: production never guesses the payment mode, and a bad live
// credential stops start-up with a message naming the variable (never its content).
import { generateKeyPairSync } from 'node:crypto';
import { expect, it } from 'vitest';
import { ConfigError, loadEnv } from '@/server/env';
import { buildGateway } from '@/server/wechatpay/gateway';

const live: NodeJS.ProcessEnv = {
  NODE_ENV: 'test',
  WECHATPAY_MODE: 'live',
  WECHATPAY_MCHID: '1900000109',
  WECHATPAY_APPID: 'wxd678efh567hg6787',
  WECHATPAY_MERCHANT_SERIAL: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
  WECHATPAY_APIV3_KEY: 'a'.repeat(32),
  WECHATPAY_MERCHANT_PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
};

it('refuses NODE_ENV=production without an explicit WECHATPAY_MODE', () => {
  expect(() => loadEnv({ NODE_ENV: 'production' })).toThrow(ConfigError);
  expect(() => loadEnv({ NODE_ENV: 'production' })).toThrow(/WECHATPAY_MODE must be set/);
  expect(loadEnv({ NODE_ENV: 'production', WECHATPAY_MODE: 'simulator' }).wechatpayMode).toBe('simulator');
  expect(loadEnv({ NODE_ENV: 'development' }).wechatpayMode).toBe('simulator');
});

it('names the variable of a malformed live credential, without echoing it', () => {
  const garbage = '-----BEGIN PRIVATE KEY-----\nnot a key at all\n-----END PRIVATE KEY-----';
  const attempt = () =>
    buildGateway(
      loadEnv({
        ...live,
        WECHATPAY_MERCHANT_PRIVATE_KEY: garbage,
        WECHATPAY_PUBLIC_KEY: live.WECHATPAY_MERCHANT_PRIVATE_KEY,
        WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0114232134912410000000000000',
      }),
    );
  expect(attempt).toThrow(ConfigError);
  expect(attempt).toThrow(/WECHATPAY_MERCHANT_PRIVATE_KEY is not/);
  expect(() => attempt()).not.toThrow(/not a key at all/);

  const badPublic = () =>
    buildGateway(loadEnv({ ...live, WECHATPAY_PUBLIC_KEY: 'PUBLIC KEY?', WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0114232134912410000000000000' }));
  expect(badPublic).toThrow(/WECHATPAY_PUBLIC_KEY is not/);
  expect(() => loadEnv({ ...live, WECHATPAY_APIV3_KEY: 'short' })).toThrow(/WECHATPAY_APIV3_KEY must be exactly 32/);
});
