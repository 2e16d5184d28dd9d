// Builds a notification exactly as WeChat would — the simulator's own envelope builder, signed with the
// simulator's keys — for tests that need a payment record the simulator would never produce.
import { loadPrivateKey, randomHexNonce, responseMessage, signMessage, unixSeconds } from '@/server/wechatpay/crypto';
import { formatRfc3339Shanghai } from '@/server/wechatpay/time';
import type { SimCredentials } from '@/simulator/credentials';
import { buildTransactionNotification } from '@/simulator/notifier';

export function buildSignedNotification(
  c: SimCredentials,
  t: { out_trade_no: string; amount: number; transaction_id?: string; mchid?: string; appid?: string },
  now = Date.now(),
) {
  const resource = {
    mchid: t.mchid ?? c.mchid,
    appid: t.appid ?? c.appid,
    out_trade_no: t.out_trade_no,
    transaction_id: t.transaction_id ?? `4200${String(now).padStart(24, '0')}`,
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    attach: '',
    success_time: formatRfc3339Shanghai(new Date(now)),
    payer: { openid: 'oTest' },
    amount: { total: t.amount, payer_total: t.amount, currency: 'CNY', payer_currency: 'CNY' },
  };
  const { body } = buildTransactionNotification(resource, c.apiv3Key, new Date(now));
  const timestamp = unixSeconds(now);
  const headerNonce = randomHexNonce();
  const signature = signMessage(loadPrivateKey(c.wechatpayPublicKey.privateKeyPem), responseMessage(timestamp, headerNonce, body));
  return {
    body,
    resource,
    headers: {
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': headerNonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': c.wechatpayPublicKey.id,
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    },
  };
}
