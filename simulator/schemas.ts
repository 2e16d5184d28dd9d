// Request-body rules for the endpoints the simulator serves, as strict as WeChat (reference §3.1, §5, §13):
// unknown fields, null anywhere and 4-byte UTF-8 characters are refused before the shape is even looked at.
import { z } from 'zod';
import { errors, type SimApiError } from './errors';

const OUT_TRADE_NO_RE = /^[0-9A-Za-z_\-|*]{6,32}$/;
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/** Epoch milliseconds of an RFC 3339 date-time, or null. Stricter than Date.parse (which accepts Feb 30). */
export function parseRfc3339(value: string): number | null {
  const m = RFC3339_RE.exec(value);
  if (!m) return null;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  if (day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  let offsetMinutes = 0;
  if (m[8] !== 'Z') {
    const offHours = Number(m[9]);
    const offMinutes = Number(m[10]);
    if (offHours > 23 || offMinutes > 59) return null;
    offsetMinutes = (m[8]?.[0] === '-' ? -1 : 1) * (offHours * 60 + offMinutes);
  }
  const millis = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

function isHttpUrlWithoutQuery(value: string): boolean {
  if (value.includes('?') || value.includes('#')) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const amountSchema = z.strictObject({
  total: z.int().min(1).max(2_147_483_647),
  currency: z.literal('CNY').optional(),
});

const goodsDetailSchema = z.strictObject({
  merchant_goods_id: z.string().min(1).max(32),
  wechatpay_goods_id: z.string().max(32).optional(),
  goods_name: z.string().max(256).optional(),
  quantity: z.int().min(1),
  unit_price: z.int().min(0),
});

export const prepaySchema = z.strictObject({
  appid: z.string().min(1).max(32),
  mchid: z.string().min(1).max(32),
  description: z.string().min(1).max(127),
  out_trade_no: z.string().regex(OUT_TRADE_NO_RE, 'out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]'),
  time_expire: z
    .string()
    .max(64)
    .refine((v) => parseRfc3339(v) !== null, 'time_expire must be an RFC 3339 date-time')
    .optional(),
  attach: z.string().max(128).optional(),
  notify_url: z.string().min(1).max(255).refine(isHttpUrlWithoutQuery, 'notify_url must be an absolute http(s) URL without a query string'),
  goods_tag: z.string().max(32).optional(),
  support_fapiao: z.boolean().optional(),
  limit_pay: z.array(z.enum(['no_balance', 'no_credit', 'no_debit', 'balance_only'])).optional(),
  amount: amountSchema,
  detail: z
    .strictObject({
      cost_price: z.int().min(0).optional(),
      invoice_id: z.string().max(32).optional(),
      goods_detail: z.array(goodsDetailSchema).min(1).optional(),
    })
    .optional(),
  scene_info: z
    .strictObject({
      payer_client_ip: z.string().min(1).max(45),
      device_id: z.string().max(32).optional(),
      store_info: z
        .strictObject({
          id: z.string().min(1).max(32),
          name: z.string().max(256).optional(),
          area_code: z.string().max(32).optional(),
          address: z.string().max(512).optional(),
        })
        .optional(),
    })
    .optional(),
  settle_info: z.strictObject({ profit_sharing: z.boolean().optional() }).optional(),
});
export type PrepayRequest = z.infer<typeof prepaySchema>;

export const closeSchema = z.strictObject({ mchid: z.string().min(1).max(32) });

/** out_refund_no: 1–64 of digits, letters, `_ - | * @` (reference §7.1). */
export const OUT_REFUND_NO_RE = /^[0-9A-Za-z_\-|*@]{1,64}$/;

/** POST /v3/refund/domestic/refunds (reference §7.1). Exactly the documented fields; no mchid in the body. */
export const refundSchema = z
  .strictObject({
    transaction_id: z.string().min(1).max(32).optional(),
    out_trade_no: z.string().regex(OUT_TRADE_NO_RE, 'out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]').optional(),
    out_refund_no: z.string().regex(OUT_REFUND_NO_RE, 'out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]'),
    reason: z.string().min(1).max(80).optional(),
    notify_url: z.string().min(1).max(256).refine(isHttpUrlWithoutQuery, 'notify_url must be an absolute http(s) URL without a query string').optional(),
    funds_account: z.enum(['AVAILABLE', 'UNSETTLED']).optional(),
    amount: z.strictObject({
      refund: z.int().min(1).max(2_147_483_647),
      from: z.array(z.strictObject({ account: z.enum(['AVAILABLE', 'UNAVAILABLE']), amount: z.int().min(1) })).optional(),
      total: z.int().min(1).max(2_147_483_647),
      // Required here, unlike on prepay (reference §7.1).
      currency: z.literal('CNY'),
    }),
    goods_detail: z
      .array(
        z.strictObject({
          merchant_goods_id: z.string().min(1).max(32),
          wechatpay_goods_id: z.string().max(32).optional(),
          goods_name: z.string().max(256).optional(),
          unit_price: z.int().min(0),
          refund_amount: z.int().min(0),
          refund_quantity: z.int().min(1),
        }),
      )
      .optional(),
  })
  .refine((b) => b.transaction_id !== undefined || b.out_trade_no !== undefined, {
    message: 'transaction_id或out_trade_no必填其一',
    path: ['out_trade_no'],
  });
export type RefundRequest = z.infer<typeof refundSchema>;

/** POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund; bank_account and real_name are RSA-OAEP ciphertexts. */
export const abnormalRefundSchema = z.strictObject({
  out_refund_no: z.string().regex(OUT_REFUND_NO_RE, 'out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]'),
  type: z.enum(['USER_BANK_CARD', 'MERCHANT_BANK_CARD']),
  bank_type: z
    .enum([
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
    ])
    .optional(),
  bank_account: z.string().min(1).max(2048).optional(),
  real_name: z.string().min(1).max(2048).optional(),
});
export type AbnormalRefundRequest = z.infer<typeof abnormalRefundSchema>;
export type CloseRequest = z.infer<typeof closeSchema>;

/** Parses a JSON body and applies `schema`; throws WeChat's PARAM_ERROR with a JSON-pointer detail. */
export function parseBody<T>(raw: Buffer, schema: z.ZodType<T>): T {
  const text = raw.toString('utf8');
  // Malformed UTF-8 decodes to U+FFFD; WeChat refuses such bodies rather than guessing.
  if (!Buffer.from(text, 'utf8').equals(raw)) {
    throw errors.param('请求体不是合法的UTF-8', { location: 'body', issue: 'body is not valid UTF-8' });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw errors.param('请求体不是合法的JSON', { location: 'body', issue: 'body is not valid JSON' });
  }
  const forbidden = findForbiddenValue(value, '');
  if (forbidden) throw forbidden;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw errors.param('参数错误', { location: 'body' });
  const pointer = `/${issue.path.map(String).join('/')}`;
  if (issue.code === 'unrecognized_keys') {
    const field = `${issue.path.length ? pointer : ''}/${issue.keys[0]}`;
    throw errors.unknownField({ field, issue: `unknown field ${issue.keys[0]}`, location: 'body' });
  }
  throw errors.param(`参数错误：${issue.message}`, { field: pointer, issue: issue.message, location: 'body' });
}

/** WeChat accepts only 1–3-byte UTF-8 and no JSON null (reference, general data rules). */
function findForbiddenValue(value: unknown, pointer: string): SimApiError | null {
  if (value === null) return errors.param('参数错误：不允许null值', { field: pointer || '/', issue: 'null is not allowed', location: 'body' });
  if (typeof value === 'string') {
    // Any code point above U+FFFF needs 4 bytes in UTF-8 (emoji and other astral characters).
    if (/[\u{10000}-\u{10FFFF}]/u.test(value)) {
      return errors.param('参数错误：包含不支持的4字节UTF-8字符', { field: pointer, issue: '4-byte UTF-8 characters are not supported', location: 'body' });
    }
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findForbiddenValue(value[i], `${pointer}/${i}`);
      if (found) return found;
    }
    return null;
  }
  if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const found = findForbiddenValue(key, `${pointer}/${key}`) ?? findForbiddenValue(child, `${pointer}/${key}`);
      if (found) return found;
    }
  }
  return null;
}
