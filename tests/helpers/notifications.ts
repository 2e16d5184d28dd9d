// A notification exactly as WeChat would send it — the simulator's own envelope and keys — for tests that
// need a payment record the simulator would never produce (wrong amount, other merchant, ...).
import type { SimCredentials } from '@/simulator/credentials';
import { signedTransactionNotification, successfulTransaction } from '@/simulator/testkit';

export function buildSignedNotification(
  c: SimCredentials,
  t: { out_trade_no: string; amount: number; transaction_id?: string; mchid?: string; appid?: string },
  now = Date.now(),
) {
  const resource = successfulTransaction(c, { ...t, transaction_id: t.transaction_id ?? `4200${String(now).padStart(24, '0')}` }, now);
  return { resource, ...signedTransactionNotification(c, resource, now) };
}
