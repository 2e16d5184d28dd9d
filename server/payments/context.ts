// The facts every payment path checks against (our mchid/appid) and the merchant's late-payment policy.
import { loadEnv } from '@/server/env';
import { getGateway } from './gateway';
import type { PaymentContext, PaymentSource } from './payment-result';

export function paymentContext(source: PaymentSource): PaymentContext {
  const gateway = getGateway();
  return {
    source,
    expected: { mchid: gateway.mchid, appid: gateway.appid },
    latePaymentPolicy: loadEnv().LATE_PAYMENT_POLICY,
    renewWindowMs: loadEnv().ORDER_RENEW_WINDOW_MINUTES * 60_000,
  };
}
