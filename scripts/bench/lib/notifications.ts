// Payment notifications exactly as WeChat sends them (reference §2, §6): an AES-256-GCM encrypted
// transaction inside a JSON envelope, signed over `timestamp\nnonce\nbody\n` with the simulator's
// WeChat Pay public-key pair. Every one has its own notification id and is for a real order.
import type { KeyObject } from 'node:crypto';
import { loadPrivateKey } from '@/server/wechatpay/crypto';
import type { SimCredentials } from '@/simulator/credentials';
import { signedTransactionNotification, successfulTransaction } from '@/simulator/testkit';

export interface OrderRef {
  token: string;
  outTradeNo: string;
  amountFen: number;
}

export interface SignedNotification {
  outTradeNo: string;
  body: string;
  headers: Record<string, string>;
}

/** The decrypted resource of a successful payment (what the inbox stores). */
export function transactionResource(c: Pick<SimCredentials, 'mchid' | 'appid'>, o: OrderRef, seq: number, now = Date.now()) {
  const transactionId = `4200${String(now).slice(-13).padStart(13, '0')}${String(seq).padStart(11, '0')}`;
  return successfulTransaction(c, { out_trade_no: o.outTradeNo, amount: o.amountFen, transaction_id: transactionId, openid: 'oBenchmarkShopper' }, now);
}

export function notificationSigner(c: SimCredentials) {
  const key: KeyObject = loadPrivateKey(c.wechatpayPublicKey.privateKeyPem); // parsed once
  let seq = 0;
  return (o: OrderRef, now = Date.now()): SignedNotification => {
    const { body, headers } = signedTransactionNotification(c, transactionResource(c, o, ++seq, now), now, key);
    return {
      outTradeNo: o.outTradeNo,
      body,
      headers: {
        'content-type': 'application/json',
        ...headers,
        'request-id': `08F78BB5AF0610D302189F99DD5C20BA56F${String(seq).padStart(5, '0')}-0`,
      },
    };
  };
}
