// Zod schemas for the WeChat Pay v3 bodies Scanpay sends and receives (reference §3, §4.1, §6.2, §7.3, §9).
//
// Two opposite policies, on purpose:
// - What we SEND is strict: WeChat rejects unknown fields (internal code 270924358), nulls, amounts ≤ 0,
//   4-byte UTF-8 and query strings in notify_url, so catching those here turns a remote 400 into a local bug.
// - What we RECEIVE is loose: WeChat may add fields at any time (reference §0), so objects keep unknown keys,
//   only the fields our domain cannot work without are required, and enum-like strings accept unknown values.
//   Received bodies are signature-checked before they get here, so tolerance costs no safety.
import { z } from 'zod';
import { isRfc3339 } from './time';

// ---------------------------------------------------------------- helpers

/** WeChat only accepts UTF-8 characters of 1–3 bytes (reference §0): no emoji or other astral code points. */
const NO_4BYTE_UTF8 = /^[^\u{10000}-\u{10FFFF}]*$/u;

/** `(string & {})` keeps editor autocompletion for the known literals while still accepting any string. */
type Open<T extends string> = T | (string & {});

/** An enum-like string that accepts values WeChat may introduce later; the known ones are typed. */
function openEnum<const T extends readonly [string, ...string[]]>(_known: T) {
  return z.string().min(1) as unknown as z.ZodType<Open<T[number]>, string>;
}

/**
 * The API rules forbid null, but older docs only say null keys "may be omitted" (reference §0). Dropping
 * nulls before validation means a stray `"field": null` reads as "absent" instead of failing a whole
 * payment query over a field we may not even use.
 */
function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = stripNulls(v);
    return out;
  }
  return value;
}

const fen = z.number().int(); // every API amount is an integer number of fen (1/100 CNY)

// ---------------------------------------------------------------- requests (strict)

export const OUT_TRADE_NO_RE = /^[0-9A-Za-z_\-|*]{6,32}$/; // reference §3.1 (newest doc adds "|")

export const NativePrepayRequest = z.strictObject({
  appid: z.string().min(1).max(32),
  mchid: z.string().min(1).max(32),
  description: z.string().min(1).max(127).regex(NO_4BYTE_UTF8, 'only 1–3 byte UTF-8 characters are allowed'),
  out_trade_no: z.string().regex(OUT_TRADE_NO_RE, '6–32 characters of 0-9 A-Z a-z _ - | *'),
  // Only settable on the first order; re-ordering with a different value is OUT_TRADE_NO_USED (reference §3.3).
  time_expire: z.string().max(64).refine(isRfc3339, 'must be RFC 3339 with an offset').optional(),
  attach: z.string().max(128).regex(NO_4BYTE_UTF8, 'only 1–3 byte UTF-8 characters are allowed').optional(),
  notify_url: z.string().max(255).refine(httpUrlWithoutQuery, 'must be an absolute http(s) URL without query string or fragment'),
  amount: z.strictObject({
    total: fen.min(1),
    currency: z.literal('CNY'),
  }),
});
export type NativePrepayRequest = z.infer<typeof NativePrepayRequest>;

/** out_refund_no: 1–64 of digits, letters, `_ - | * @` (reference §7.1). */
export const OUT_REFUND_NO_RE = /^[0-9A-Za-z_\-|*@]{1,64}$/;
/** WeChat order numbers are digits in practice (§4.1); this only keeps path-breaking input out. */
export const TRANSACTION_ID_RE = /^[0-9A-Za-z_-]{1,32}$/;

function httpUrlWithoutQuery(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !s.includes('?') && !s.includes('#');
  } catch {
    return false;
  }
}

/**
 * POST /v3/refund/domestic/refunds (reference §7.1). Exactly one of out_trade_no / transaction_id names the
 * order. `amount.total` must be the ORIGINAL order total (§14 #16), not what remains refundable — WeChat
 * checks it against the order. The same out_refund_no is the same refund, so a retry must reuse it (§14 #17).
 */
export const CreateRefundRequest = z
  .strictObject({
    out_trade_no: z.string().regex(OUT_TRADE_NO_RE, '6–32 characters of 0-9 A-Z a-z _ - | *').optional(),
    transaction_id: z.string().regex(TRANSACTION_ID_RE, 'invalid format').optional(),
    out_refund_no: z.string().regex(OUT_REFUND_NO_RE, '1–64 characters of 0-9 A-Z a-z _ - | * @'),
    reason: z.string().min(1).max(80).regex(NO_4BYTE_UTF8, 'only 1–3 byte UTF-8 characters are allowed').optional(),
    notify_url: z.string().max(256).refine(httpUrlWithoutQuery, 'must be an absolute http(s) URL without query string or fragment').optional(),
    funds_account: z.enum(['AVAILABLE', 'UNSETTLED']).optional(),
    amount: z.strictObject({
      refund: fen.min(1),
      total: fen.min(1),
      currency: z.literal('CNY'),
    }),
  })
  .refine((r) => (r.out_trade_no === undefined) !== (r.transaction_id === undefined), {
    message: 'exactly one of out_trade_no and transaction_id is required',
    path: ['out_trade_no'],
  })
  .refine((r) => r.amount.refund <= r.amount.total, { message: 'refund exceeds the order total', path: ['amount', 'refund'] });
export type CreateRefundRequest = z.infer<typeof CreateRefundRequest>;

/** The 15 debit-card banks apply-abnormal-refund accepts for USER_BANK_CARD. */
export const ABNORMAL_REFUND_BANK_TYPES = [
  'ICBC_DEBIT',
  'CCB_DEBIT',
  'ABC_DEBIT',
  'BOC_DEBIT',
  'COMM_DEBIT',
  'CMB_DEBIT',
  'PAB_DEBIT',
  'SPDB_DEBIT',
  'CITIC_DEBIT',
  'CEB_DEBIT',
  'CMBC_DEBIT',
  'CIB_DEBIT',
  'GDB_DEBIT',
  'PSBC_DEBIT',
  'NBCB_DEBIT',
] as const;

/**
 * POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund, in plaintext: the client encrypts
 * bank_account and real_name for WeChat's key before sending. USER_BANK_CARD: the payer's debit card (all three
 * bank fields required); MERCHANT_BANK_CARD: the merchant's settlement account (no bank fields).
 */
export const AbnormalRefundRequest = z.discriminatedUnion('type', [
  z.strictObject({
    refund_id: z.string().regex(/^\d{1,32}$/, 'digits'),
    out_refund_no: z.string().regex(OUT_REFUND_NO_RE, '1–64 characters of 0-9 A-Z a-z _ - | * @'),
    type: z.literal('USER_BANK_CARD'),
    bank_type: z.enum(ABNORMAL_REFUND_BANK_TYPES),
    bank_account: z.string().regex(/^\d{12,30}$/, '12–30 digits'),
    real_name: z.string().trim().min(1).max(50),
  }),
  z.strictObject({
    refund_id: z.string().regex(/^\d{1,32}$/, 'digits'),
    out_refund_no: z.string().regex(OUT_REFUND_NO_RE, '1–64 characters of 0-9 A-Z a-z _ - | * @'),
    type: z.literal('MERCHANT_BANK_CARD'),
  }),
]);
export type AbnormalRefundRequest = z.infer<typeof AbnormalRefundRequest>;

/** GET /v3/bill/tradebill (reference §8.1). */
export const TradeBillRequest = z.strictObject({
  bill_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'yyyy-MM-DD'),
  bill_type: z.enum(['ALL', 'SUCCESS', 'REFUND']).optional(),
  tar_type: z.literal('GZIP').optional(),
});
export type TradeBillRequest = z.infer<typeof TradeBillRequest>;

/** GET /v3/bill/fundflowbill (reference §8.2). */
export const FundFlowBillRequest = z.strictObject({
  bill_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'yyyy-MM-DD'),
  account_type: z.enum(['BASIC', 'OPERATION', 'FEES']).optional(),
  tar_type: z.literal('GZIP').optional(),
});
export type FundFlowBillRequest = z.infer<typeof FundFlowBillRequest>;

// ---------------------------------------------------------------- responses (loose)

export const NativePrepayResponse = z.looseObject({
  code_url: z.string().min(1), // opaque: 2 h validity, shown as a QR code (reference §3.2)
});
export type NativePrepayResponse = z.infer<typeof NativePrepayResponse>;

export const TRADE_STATES = ['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR', 'ACCEPT'] as const;
export type KnownTradeState = (typeof TRADE_STATES)[number];
export type TradeState = Open<KnownTradeState>;
export function isKnownTradeState(s: string): s is KnownTradeState {
  return (TRADE_STATES as readonly string[]).includes(s);
}

const PromotionDetail = z.looseObject({
  coupon_id: z.string().optional(),
  name: z.string().optional(),
  scope: z.string().optional(),
  type: z.string().optional(),
  amount: fen.optional(),
  stock_id: z.string().optional(),
  wechatpay_contribute: fen.optional(),
  merchant_contribute: fen.optional(),
  other_contribute: fen.optional(),
  currency: z.string().optional(),
  goods_detail: z.array(z.looseObject({})).optional(),
});

/**
 * The transaction object of a query response and of a TRANSACTION.* notification (reference §4.1, §6.3).
 * Only `out_trade_no` and `trade_state` are required: every SDK model treats all fields as optional, and a
 * NOTPAY answer lacks transaction_id, payer, success_time, bank_type, payer_total and currency (§4.1 captures).
 * Cross-checking mchid/appid/amount against our records is the domain's job, which must treat "absent" as
 * a mismatch rather than have the parse fail here.
 */
export const Transaction = z.preprocess(
  stripNulls,
  z.looseObject({
    appid: z.string().optional(),
    mchid: z.string().optional(),
    out_trade_no: z.string().min(1),
    transaction_id: z.string().optional(),
    trade_type: openEnum(['JSAPI', 'NATIVE', 'APP', 'MICROPAY', 'MWEB', 'FACEPAY']).optional(),
    trade_state: openEnum(TRADE_STATES),
    trade_state_desc: z.string().optional(),
    bank_type: z.string().optional(),
    attach: z.string().optional(),
    success_time: z.string().optional(),
    payer: z.looseObject({ openid: z.string().optional() }).optional(),
    amount: z
      .looseObject({
        total: fen.optional(),
        payer_total: fen.optional(),
        currency: z.string().optional(),
        payer_currency: z.string().optional(),
      })
      .optional(),
    scene_info: z.looseObject({ device_id: z.string().optional() }).optional(),
    promotion_detail: z.array(PromotionDetail).optional(),
  }),
);
export type Transaction = z.infer<typeof Transaction>;

/** Error body of every non-2xx answer (reference §9). */
export const WechatPayErrorBody = z.looseObject({
  code: z.string().min(1),
  message: z.string().default(''),
  detail: z.unknown().optional(),
});
export type WechatPayErrorBody = z.infer<typeof WechatPayErrorBody>;

// ---------------------------------------------------------------- notifications (loose)

/**
 * The plaintext JSON body WeChat POSTs to notify_url (reference §6.2). Required: what we act on — `id`
 * (the inbox's unique key), `event_type`, and what decryption needs. `associated_data` may be absent or
 * "" (decrypt with ""); create_time/summary/resource_type/original_type are informational.
 */
export const NotificationEnvelope = z.looseObject({
  id: z.string().min(1),
  create_time: z.string().optional(),
  event_type: z.string().min(1),
  resource_type: z.string().optional(),
  summary: z.string().optional(),
  resource: z.looseObject({
    algorithm: z.string().min(1),
    ciphertext: z.string().min(1),
    associated_data: z.string().nullish(),
    nonce: z.string().min(1),
    original_type: z.string().optional(),
  }),
});
export type NotificationEnvelope = z.infer<typeof NotificationEnvelope>;

export const REFUND_STATUSES = ['SUCCESS', 'CLOSED', 'ABNORMAL', 'PROCESSING'] as const;
export type RefundStatus = Open<(typeof REFUND_STATUSES)[number]>;

/**
 * Decrypted resource of REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED (reference §7.3). The status field
 * is `refund_status` here — the refund API response calls it `status` (reference §14 #15).
 */
export const RefundNotificationResource = z.preprocess(
  stripNulls,
  z.looseObject({
    mchid: z.string().optional(),
    transaction_id: z.string().optional(),
    out_trade_no: z.string().optional(),
    refund_id: z.string().optional(),
    out_refund_no: z.string().min(1),
    refund_status: openEnum(REFUND_STATUSES),
    success_time: z.string().optional(),
    create_time: z.string().optional(),
    user_received_account: z.string().optional(),
    channel: z.string().optional(),
    funds_account: z.string().optional(),
    amount: z
      .looseObject({
        total: fen.optional(),
        refund: fen.optional(),
        payer_total: fen.optional(),
        payer_refund: fen.optional(),
      })
      .optional(),
    promotion_detail: z.array(z.looseObject({})).optional(),
  }),
);
export type RefundNotificationResource = z.infer<typeof RefundNotificationResource>;

/**
 * The Refund object answered by refund create and query (reference §7.1, §7.2). Its status field is `status`;
 * the notification's is `refund_status` (§14 #15). `status` and the amounts are required: the domain acts on them.
 */
export const Refund = z.preprocess(
  stripNulls,
  z.looseObject({
    refund_id: z.string().min(1),
    out_refund_no: z.string().min(1),
    transaction_id: z.string().optional(),
    out_trade_no: z.string().optional(),
    channel: z.string().optional(),
    user_received_account: z.string().optional(),
    success_time: z.string().optional(),
    create_time: z.string().optional(),
    status: openEnum(REFUND_STATUSES),
    funds_account: z.string().optional(),
    amount: z.looseObject({
      total: fen,
      refund: fen,
      from: z.array(z.looseObject({ account: z.string().optional(), amount: fen.optional() })).optional(),
      payer_total: fen.optional(),
      payer_refund: fen.optional(),
      settlement_refund: fen.optional(),
      settlement_total: fen.optional(),
      discount_refund: fen.optional(),
      currency: z.string().optional(),
      refund_fee: fen.optional(),
    }),
    promotion_detail: z.array(z.looseObject({})).optional(),
  }),
);
export type Refund = z.infer<typeof Refund>;

/** Answer of the bill applications (reference §8.1, §8.2). */
export const BillApplication = z.looseObject({
  hash_type: z.string().min(1),
  hash_value: z.string().min(1),
  download_url: z.string().min(1),
});
export type BillApplication = z.infer<typeof BillApplication>;

/** Answer of GET /v3/certificates (reference §10): each certificate PEM encrypted with the APIv3 key. */
export const CertificatesResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      serial_no: z.string().min(1),
      effective_time: z.string().optional(),
      expire_time: z.string().optional(),
      encrypt_certificate: z.looseObject({
        algorithm: z.string().min(1),
        associated_data: z.string().nullish(),
        nonce: z.string().min(1),
        ciphertext: z.string().min(1),
      }),
    }),
  ),
});
export type CertificatesResponse = z.infer<typeof CertificatesResponse>;

/** "path: message; path: message" from a zod error — no input values, so it is safe to log. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
