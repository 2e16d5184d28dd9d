// GET /v3/certificates (reference §10): the platform certificate(s), each PEM encrypted with the APIv3 key
// under AAD `certificate` — the encryption is what lets a merchant trust the very first download, before it
// holds any key to check the response signature with. A merchant on the public key only gets NOT_FOUND.
import { X509Certificate } from 'node:crypto';
import { aesGcmEncrypt, randomNonce } from '../server/wechatpay/crypto';
import type { SimCredentials } from './credentials';
import { errors } from './errors';
import type { KeyMode } from './faults';
import { beijingTime } from './ids';

export function certificatesResponse(credentials: SimCredentials, keyMode: KeyMode | null): { data: Record<string, unknown>[] } {
  if (keyMode === 'public-key') throw errors.noCertificates();
  const pem = credentials.platformCertificate.certificatePem;
  const cert = new X509Certificate(pem);
  const nonce = randomNonce(12);
  return {
    data: [
      {
        serial_no: credentials.platformCertificate.serial,
        effective_time: beijingTime(new Date(cert.validFrom)),
        expire_time: beijingTime(new Date(cert.validTo)),
        encrypt_certificate: {
          algorithm: 'AEAD_AES_256_GCM',
          associated_data: 'certificate',
          nonce,
          ciphertext: aesGcmEncrypt(credentials.apiv3Key, nonce, 'certificate', pem),
        },
      },
    ],
  };
}
