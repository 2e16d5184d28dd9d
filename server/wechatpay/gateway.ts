// The configured WeChat Pay gateway of this process: API client, signature verifier and APIv3 key.
// Simulator mode trusts both of the simulator's keys (platform certificate and WeChat Pay public key),
// exactly as a merchant in the middle of WeChat's public-key migration would.
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { certificateSerial, loadPrivateKey, loadPublicKey } from '@/server/wechatpay/crypto';
import { CertificateManager } from '@/server/wechatpay/certificates';
import { WechatPayClient } from '@/server/wechatpay/client';
import { WechatPayVerifier } from '@/server/wechatpay/verifier';
import { ConfigError, liveCredentials, loadEnv, type AppEnv } from '@/server/env';
import { errorFields, log } from '@/server/log';

export interface Gateway {
  mode: 'simulator' | 'live';
  /** Live mode: downloads and refreshes platform certificates (also harmless for public-key merchants). */
  certificates?: CertificateManager;
  mchid: string;
  appid: string;
  apiv3Key: string;
  verifier: WechatPayVerifier;
  client: WechatPayClient;
  /**
   * The key sensitive request fields are encrypted with (apply-abnormal-refund's bank account and name): the
   * WeChat Pay public key when configured, else the newest platform certificate; its id goes in Wechatpay-Serial.
   */
  sensitiveEncryption(): { encryptionKey: KeyObject; encryptionSerial: string };
}

/** The shape the simulator writes to SIM_CREDENTIALS_FILE (and serves at GET /_sim/credentials). */
interface SimulatorCredentialsFile {
  mchid: string;
  appid: string;
  apiv3Key: string;
  merchant: { serial: string; privateKeyPem: string; certificatePem: string };
  platformCertificate: { serial: string; certificatePem: string };
  wechatpayPublicKey: { id: string; publicKeyPem: string };
}

function readSimulatorCredentials(env: AppEnv): SimulatorCredentialsFile {
  if (!existsSync(env.simCredentialsFile)) {
    throw new ConfigError(
      `Simulator credentials not found at ${env.simCredentialsFile}. Start the app with \`npm run dev\` (it creates them), ` +
        'or set WECHATPAY_MODE=live with your merchant credentials.',
    );
  }
  return JSON.parse(readFileSync(env.simCredentialsFile, 'utf8')) as SimulatorCredentialsFile;
}

/** Parses one credential, or says which variable holds something else (never its content). */
function parsed<T>(variable: string, expected: string, parse: () => T): T {
  try {
    return parse();
  } catch {
    throw new ConfigError(`${variable} is not ${expected}: check the value or the file it points to`);
  }
}

/**
 * The configured gateway, with every credential parsed and checked. Built at the start of each web and
 * worker process, so a bad key stops start-up with a message naming it — before any order is written.
 */
export function buildGateway(env: AppEnv = loadEnv()): Gateway {
  const verifier = new WechatPayVerifier();
  let mchid: string, appid: string, apiv3Key: string, merchantSerial: string, merchantPrivateKeyPem: string;
  let acceptSerial: string | undefined;
  let manager: CertificateManager | undefined;
  let publicKey: { id: string; key: KeyObject } | undefined;
  if (env.wechatpayMode === 'simulator') {
    const c = readSimulatorCredentials(env);
    ({ mchid, appid, apiv3Key } = c);
    merchantSerial = c.merchant.serial;
    merchantPrivateKeyPem = c.merchant.privateKeyPem;
    verifier.trust(c.platformCertificate.serial, loadPublicKey(c.platformCertificate.certificatePem));
    publicKey = { id: c.wechatpayPublicKey.id, key: loadPublicKey(c.wechatpayPublicKey.publicKeyPem) };
    verifier.trust(publicKey.id, publicKey.key);
    acceptSerial = c.wechatpayPublicKey.id;
  } else {
    const c = liveCredentials(env);
    ({ mchid, appid, apiv3Key, merchantSerial, merchantPrivateKeyPem } = c);
    for (const pem of c.platformCertificatePems) {
      const key = parsed('WECHATPAY_PLATFORM_CERTIFICATE', 'an X.509 certificate (PEM)', () => ({ serial: certificateSerial(pem), key: loadPublicKey(pem) }));
      verifier.trust(key.serial, key.key);
    }
    if (c.publicKey) {
      const pem = c.publicKey.pem;
      publicKey = { id: c.publicKey.id, key: parsed('WECHATPAY_PUBLIC_KEY', 'a PEM public key', () => loadPublicKey(pem)) };
      verifier.trust(publicKey.id, publicKey.key);
      acceptSerial = c.publicKey.id;
    }
  }
  const pem = merchantPrivateKeyPem;
  const merchantPrivateKey = parsed('WECHATPAY_MERCHANT_PRIVATE_KEY', 'your apiclient_key.pem (a PEM private key)', () => loadPrivateKey(pem));
  if (merchantPrivateKey.asymmetricKeyType !== 'rsa') throw new ConfigError('WECHATPAY_MERCHANT_PRIVATE_KEY must be an RSA key (apiclient_key.pem)');
  const client = new WechatPayClient({
    mchid,
    appid,
    merchantSerial,
    merchantPrivateKey,
    verifier,
    baseUrl: env.wechatpayBaseUrl,
    timeoutMs: env.WECHATPAY_TIMEOUT_MS,
    // Tell WeChat which key to sign answers with: the public key when configured, else the newest certificate.
    acceptSerial: acceptSerial ?? (() => manager?.newestSerial() ?? undefined),
    // An answer signed by a certificate we do not know yet triggers one refresh and one more verification.
    onUnknownSerial: env.wechatpayMode === 'live' ? (serial: string) => manager!.refreshForSerial(serial) : undefined,
  });
  if (env.wechatpayMode === 'live') {
    // A failed refresh after a rotation would leave certificate-mode merchants failing verification: say so.
    const onError = (err: unknown) => log('wechatpay').error(errorFields(err), 'platform certificate download failed');
    manager = new CertificateManager({ client, verifier, apiv3Key, onError });
    manager.attach(); // a notification naming an unknown serial refreshes in the background; WeChat's retry then verifies
    manager.refresh().catch(onError);
    manager.start();
  }
  const sensitiveEncryption = () => {
    if (publicKey) return { encryptionKey: publicKey.key, encryptionSerial: publicKey.id };
    const serial = manager?.newestSerial();
    const key = serial ? verifier.keyOf(serial) : undefined;
    if (!serial || !key) throw new ConfigError('No WeChat Pay public key or platform certificate to encrypt sensitive fields with: set WECHATPAY_PUBLIC_KEY');
    return { encryptionKey: key, encryptionSerial: serial };
  };
  return { mode: env.wechatpayMode, mchid, appid, apiv3Key, verifier, client, certificates: manager, sensitiveEncryption };
}
