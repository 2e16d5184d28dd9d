// The refund domain: the one owner of every refund transition (request, approval, WeChat's answers,
// re-application, abnormal handling, refunds found in bills). Transports call these and nothing else.
export { RefundError, type RefundRule } from './errors';
export {
  requestRefund,
  requestLatePaymentRefund,
  decideRefund,
  reapplyClosedRefund,
  refundsOfOrder,
  paymentFiguresOf,
  latePaymentRefundNo,
  newOutRefundNo,
  type RequestRefundInput,
  type RequestRefundResult,
  type RefundDeps,
  type RefundInitiator,
} from './request';
export { executeRefund, type ExecuteDeps } from './execute';
export { applyRefundStatus, settleOrderRefunds } from './status';
export { resolveAbnormalRefund, type AbnormalResolution } from './abnormal';
export { recordExternalRefund, type ExternalRefund } from './external';
export { sweepRefunds } from './sweep';
export * from './rules';
export * from './schedule';
