// The facts every payment path checks against (our mchid/appid), the merchant's late-payment policy and
// the clock, from the process's dependencies.
import type { PaymentDeps } from './deps';
import type { PaymentContext, PaymentSource } from './payment-result';

export function paymentContext(deps: Pick<PaymentDeps, 'env' | 'gateway' | 'clock'>, source: PaymentSource): PaymentContext {
  const gateway = deps.gateway();
  return {
    source,
    expected: { mchid: gateway.mchid, appid: gateway.appid },
    latePaymentPolicy: deps.env.LATE_PAYMENT_POLICY,
    renewWindowMs: deps.env.ORDER_RENEW_WINDOW_MINUTES * 60_000,
    now: () => deps.clock.now(),
  };
}
