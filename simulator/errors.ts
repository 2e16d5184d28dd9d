// WeChat's error body is {"code","message","detail"?} with the HTTP status carrying the class of error
// (reference §9). The internal numeric code only shows up as the Request-ID suffix; the numbers below are the
// ones the official troubleshooting manual ties to each situation, others are plausible stand-ins.

export interface ErrorDetail {
  field?: string;
  value?: unknown;
  issue?: string;
  location?: string;
}

export class SimApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Request-ID suffix, e.g. 268443699 for a bad signature. */
    readonly internalCode: number,
    readonly detail?: ErrorDetail,
  ) {
    super(message);
    this.name = 'SimApiError';
  }

  toBody(): { code: string; message: string; detail?: ErrorDetail } {
    return this.detail ? { code: this.code, message: this.message, detail: this.detail } : { code: this.code, message: this.message };
  }
}

export const errors = {
  missingAcceptOrUserAgent: () => new SimApiError(400, 'INVALID_REQUEST', 'Http头缺少Accept或User-Agent', 268435471),
  badAuthorization: () => new SimApiError(401, 'SIGN_ERROR', 'Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》', 268443699),
  unknownSerial: () => new SimApiError(401, 'SIGN_ERROR', '商户证书序列号有误', 268443699),
  staleTimestamp: () => new SimApiError(401, 'SIGN_ERROR', '签名错误，请求时间戳与当前时间相差超过5分钟', 268443699),
  badSignature: () => new SimApiError(401, 'SIGN_ERROR', '签名错误', 268443699),
  mchNotExists: () => new SimApiError(400, 'MCH_NOT_EXISTS', '商户号不存在', 268435480),
  mchidMismatch: () => new SimApiError(400, 'INVALID_REQUEST', 'http header中的mchid与post payload中的mchid不匹配', 268435472),
  appidMismatch: () => new SimApiError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配', 268435473),
  param: (message: string, detail?: ErrorDetail) => new SimApiError(400, 'PARAM_ERROR', message, 268435461, detail),
  unknownField: (detail: ErrorDetail) => new SimApiError(400, 'PARAM_ERROR', '含有非法的额外参数', 270924358, detail),
  bodyTooLarge: () => new SimApiError(413, 'INVALID_REQUEST', '请求体过大', 268435474),
  orderNotExist: () => new SimApiError(404, 'ORDER_NOT_EXIST', '订单不存在', 268512771),
  outTradeNoUsed: () => new SimApiError(403, 'OUT_TRADE_NO_USED', '商户订单号重复：请求重入时，参数与首次请求时不一致', 268498688),
  orderClosed: () => new SimApiError(400, 'ORDER_CLOSED', '订单已关闭，请重新下单', 268447914),
  orderPaid: () => new SimApiError(400, 'ORDER_PAID', '订单已支付', 268449538),
  /** Simulator-only (control API / phone page): an unknown, superseded or 2-hour-old code_url. */
  codeUrlInvalid: () => new SimApiError(400, 'CODE_URL_INVALID', '二维码已失效 / This QR code has expired or is no longer valid', 0),
  notFound: () => new SimApiError(404, 'NOT_FOUND', '请求的资源不存在', 268435475),
  // Refunds (reference §7.1, §7.2). RESOURCE_NOT_EXISTS covers "order not found" and "order not paid".
  refundOrderNotExist: () => new SimApiError(404, 'RESOURCE_NOT_EXISTS', '订单不存在', 268512771),
  refundNotExist: () => new SimApiError(404, 'RESOURCE_NOT_EXISTS', '退款单不存在', 268512772),
  refundParamsChanged: () => new SimApiError(400, 'INVALID_REQUEST', '请求重入时，参数与首次请求时不一致', 268498688),
  refundTotalMismatch: () =>
    new SimApiError(400, 'PARAM_ERROR', '订单金额与原订单金额不一致', 268435461, {
      field: '/amount/total',
      issue: 'amount.total must equal the total of the original order',
      location: 'body',
    }),
  refundExceedsTotal: () => new SimApiError(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额', 268498695),
  tooManyRefunds: () => new SimApiError(400, 'INVALID_REQUEST', '订单已经超过可部分退款的最大次数(50次)', 268498696),
  refundWindowPassed: () => new SimApiError(400, 'INVALID_REQUEST', '订单已经超过可退款的最大期限(1年)', 268498697),
  refundOrderMismatch: () =>
    new SimApiError(400, 'PARAM_ERROR', 'transaction_id与out_trade_no不是同一笔订单', 268435461, {
      location: 'body',
      issue: 'identifiers name different orders',
    }),
  /** "同一笔订单多次退款的请求需相隔1分钟" — WeChat's rate-limit code (reference §9: 429 FREQUENCY_LIMITED, 268447840). */
  refundTooSoon: () => new SimApiError(429, 'FREQUENCY_LIMITED', '频率限制：同一笔订单多次退款的请求需相隔1分钟', 268447840),
  abnormalRefundMismatch: () =>
    new SimApiError(400, 'PARAM_ERROR', 'out_refund_no与refund_id不是同一笔退款', 268435461, {
      field: '/out_refund_no',
      issue: 'out_refund_no does not belong to refund_id',
      location: 'body',
    }),
  refundNotAbnormal: (status: string) => new SimApiError(400, 'INVALID_REQUEST', `退款单状态为${status}，不是退款异常，无法发起异常退款`, 268498698),
  sensitiveSerial: () =>
    new SimApiError(400, 'PARAM_ERROR', '参数错误：Wechatpay-Serial缺失或不是微信支付公钥ID/平台证书序列号', 268435461, {
      field: 'Wechatpay-Serial',
      issue: 'encrypted fields need the serial of the WeChat key they were encrypted with',
      location: 'header',
    }),
  /** Simulator-only (control API): the refund already reached a final status. */
  refundFinished: (status: string) => new SimApiError(409, 'REFUND_FINISHED', `退款单已是终态 ${status}`, 0),
  // Bills (reference §8).
  noStatement: () => new SimApiError(400, 'NO_STATEMENT_EXIST', '请求的账单文件不存在', 268435499),
  statementCreating: () => new SimApiError(400, 'STATEMENT_CREATING', '账单生成中', 268435500),
  billLinkExpired: () => new SimApiError(400, 'INVALID_REQUEST', '账单下载链接已过期，请重新申请', 268435501),
  // Certificates (reference §10): a merchant on the public key only has none.
  noCertificates: () => new SimApiError(404, 'NOT_FOUND', '商户未申请过证书或证书已切换为微信支付公钥', 268435502),
  methodNotAllowed: () => new SimApiError(405, 'INVALID_REQUEST', '不支持的HTTP方法', 268435476),
  system: () => new SimApiError(500, 'SYSTEM_ERROR', '系统繁忙，请稍后重试', 268435457),
};
