// Payment notifications exactly as WeChat sends them (reference §2, §6): an AES-256-GCM encrypted
// transaction inside a JSON envelope, signed over `timestamp\nnonce\nbody\n` with the simulator's
// WeChat Pay public-key pair. Every one has its own notification id and is for a real order.
import type { KeyObject } from 'node:crypto';
import { loadPrivateKey, randomHexNonce, responseMessage, signMessage, unixSeconds } from '@/server/wechatpay/crypto';
import { formatRfc3339Shanghai } from '@/server/wechatpay/time';
import type { SimCredentials } from '@/simulator/credentials';
import { buildTransactionNotification } from '@/simulator/notifier';

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
  return {
    mchid: c.mchid,
    appid: c.appid,
    out_trade_no: o.outTradeNo,
    transaction_id: `4200${String(now).slice(-13).padStart(13, '0')}${String(seq).padStart(11, '0')}`,
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    attach: '',
    success_time: formatRfc3339Shanghai(new Date(now)),
    payer: { openid: 'oBenchmarkShopper' },
    amount: { total: o.amountFen, payer_total: o.amountFen, currency: 'CNY', payer_currency: 'CNY' },
  };
}

export function notificationSigner(c: SimCredentials) {
  const key: KeyObject = loadPrivateKey(c.wechatpayPublicKey.privateKeyPem); // parsed once
  let seq = 0;
  return (o: OrderRef, now = Date.now()): SignedNotification => {
    const resource = transactionResource(c, o, ++seq, now);
    const { body } = buildTransactionNotification(resource, c.apiv3Key, new Date(now));
    const timestamp = unixSeconds(now);
    const headerNonce = randomHexNonce();
    return {
      outTradeNo: o.outTradeNo,
      body,
      headers: {
        'content-type': 'application/json',
        'wechatpay-timestamp': timestamp,
        'wechatpay-nonce': headerNonce,
        'wechatpay-signature': signMessage(key, responseMessage(timestamp, headerNonce, body)),
        'wechatpay-serial': c.wechatpayPublicKey.id,
        'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
        'request-id': `08F78BB5AF0610D302189F99DD5C20BA56F${String(seq).padStart(5, '0')}-0`,
      },
    };
  };
}
