// The simulator's key material, generated once and shared with the app in simulator mode (DESIGN §5).
// It plays both sides' credentials: the merchant's API certificate + key (the app signs requests with it,
// the simulator verifies them), the platform certificate and the WeChat Pay public key (the simulator
// signs responses and notifications, the app verifies them), and the APIv3 key for AES-GCM resources.
import { generateKeyPair as generateKeyPairCb, randomBytes, randomInt } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { z } from 'zod';
import { certificateSerial, randomNonce } from '../server/wechatpay/crypto';

export interface SimCredentials {
  mchid: string;
  appid: string;
  apiv3Key: string;
  /** The merchant API certificate (apiclient_cert.pem / apiclient_key.pem): the app signs requests with it. */
  merchant: { serial: string; privateKeyPem: string; certificatePem: string };
  /** Platform-certificate mode: the simulator signs with this key when the app names its serial. */
  platformCertificate: { serial: string; privateKeyPem: string; certificatePem: string };
  /** Public-key mode (the default signer): id is `PUB_KEY_ID_` + digits. */
  wechatpayPublicKey: { id: string; privateKeyPem: string; publicKeyPem: string };
}

const certified = z.object({ serial: z.string().regex(/^[0-9A-F]+$/), privateKeyPem: z.string(), certificatePem: z.string() });
const credentialsSchema = z.object({
  mchid: z.string().regex(/^\d{6,32}$/),
  appid: z.string().min(1).max(32),
  apiv3Key: z.string().length(32),
  merchant: certified,
  platformCertificate: certified,
  wechatpayPublicKey: z.object({ id: z.string().regex(/^PUB_KEY_ID_\d+$/), privateKeyPem: z.string(), publicKeyPem: z.string() }),
});

const generateKeyPair = promisify(generateKeyPairCb);

/**
 * Returns the credentials stored in `file`, generating and writing them (mode 0600) on first use.
 * Concurrent first starts (web and a standalone simulator) cannot end up with two different sets:
 * the file is published with link(2), which fails if another process won the race, and then theirs is read.
 */
export async function ensureSimulatorCredentials(file: string): Promise<SimCredentials> {
  const existing = await readCredentials(file);
  if (existing) return existing;

  const credentials = await generateSimulatorCredentials();
  // Only the credentials folder is private; parents keep the default mode (the embedded Postgres
  // runs as another user and must traverse .data/).
  await mkdir(dirname(dirname(file)), { recursive: true });
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
    return credentials;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = await readCredentials(file);
    if (!winner) throw new Error(`simulator credentials file ${file} appeared but could not be read`);
    return winner;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

async function readCredentials(file: string): Promise<SimCredentials | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = credentialsSchema.safeParse(JSON.parse(text));
  // Never echo the file's content: it holds private keys.
  if (!parsed.success) throw new Error(`simulator credentials file ${file} is malformed; delete it to regenerate`);
  return parsed.data;
}

/** Fresh credentials; the three RSA key pairs are generated in parallel on libuv's thread pool. */
export async function generateSimulatorCredentials(): Promise<SimCredentials> {
  const [merchantKeys, platformKeys, publicKeyKeys] = await Promise.all([rsaKeyPair(), rsaKeyPair(), rsaKeyPair()]);
  const mchid = `1${randomDigits(9)}`;
  const merchantCert = selfSignedCertificate(merchantKeys, [
    { shortName: 'CN', value: mchid },
    { shortName: 'OU', value: 'Scanpay Simulator' },
    { shortName: 'O', value: 'Scanpay Simulated Merchant' },
    { shortName: 'C', value: 'CN' },
  ]);
  // The subject real platform certificates carry (reference §10).
  const platformCert = selfSignedCertificate(platformKeys, [
    { shortName: 'CN', value: 'Tenpay.com sign' },
    { shortName: 'OU', value: 'Tenpay.com CA Center' },
    { shortName: 'O', value: 'Tenpay.com' },
    { shortName: 'C', value: 'CN' },
  ]);
  return {
    mchid,
    appid: `wx${randomBytes(8).toString('hex')}`,
    apiv3Key: randomNonce(32),
    merchant: { serial: certificateSerial(merchantCert), privateKeyPem: merchantKeys.privateKeyPem, certificatePem: merchantCert },
    platformCertificate: { serial: certificateSerial(platformCert), privateKeyPem: platformKeys.privateKeyPem, certificatePem: platformCert },
    // Observed ids are `PUB_KEY_ID_01` + mchid-ish digits; the length is not validated by anyone (reference §2.3).
    wechatpayPublicKey: {
      id: `PUB_KEY_ID_01${mchid}${randomDigits(16)}`,
      privateKeyPem: publicKeyKeys.privateKeyPem,
      publicKeyPem: publicKeyKeys.publicKeyPem,
    },
  };
}

interface PemKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

async function rsaKeyPair(): Promise<PemKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * Self-signed X.509 v3 certificate, SHA256withRSA, valid from yesterday for five years. The serial is 20 random
 * bytes with the top byte in 0x10..0x7F, so it is a positive INTEGER that prints as exactly 40 hex digits.
 */
function selfSignedCertificate(keys: PemKeyPair, subject: forge.pki.CertificateField[]): string {
  const serial = randomBytes(20);
  serial[0] = 0x10 + (serial[0]! % 0x70);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serial.toString('hex');
  const notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + 5 * 365 * 24 * 3600 * 1000);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, keyEncipherment: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function randomDigits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(randomInt(10));
  return out;
}
