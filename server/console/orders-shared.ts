// What the orders list's server and browser share: the filter vocabularies and the search box's
// recogniser (pure: no database, safe in a client bundle).
export const ORDER_STATUSES = ['awaiting_payment', 'paid', 'closed', 'refunded', 'partially_refunded', 'review'] as const;
export const LEARNED_VIA = ['notify', 'query', 'shopper', 'bill'] as const;
export const FLAGS = ['late', 'double', 'mismatch'] as const;
export const COUNT_CAP = 10_000;

export type SearchKind = 'order_id' | 'transaction_id' | 'out_trade_no' | 'refund' | 'token' | 'amount' | 'text';

export interface RecognisedSearch {
  kind: SearchKind;
  value: string;
  amountFen?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRANSACTION_ID = /^42\d{26}$/;
const OUT_TRADE_NO = /^SP\d{14}[0-9A-Z]{12}$/i;
const OUR_REFUND_NO = /^[A-Z]{2}SP\d{14}[0-9A-Z]{12}$|^R[0-9A-Za-z_-]{6,40}$/i;
const WECHAT_REFUND_ID = /^50\d{20,30}$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const AMOUNT = /^(?:¥|￥|CNY\s*|RMB\s*)?\s*(\d{1,9})(?:\.(\d{1,2}))?\s*(?:元|yuan)?$/i;

/** What the search box holds: recognised by shape, most specific first. */
export function recogniseSearch(raw: string): RecognisedSearch | null {
  const value = raw.trim();
  if (!value) return null;
  if (UUID.test(value)) return { kind: 'order_id', value: value.toLowerCase() };
  if (TRANSACTION_ID.test(value)) return { kind: 'transaction_id', value };
  if (OUT_TRADE_NO.test(value)) return { kind: 'out_trade_no', value: value.toUpperCase() };
  if (WECHAT_REFUND_ID.test(value) || OUR_REFUND_NO.test(value)) return { kind: 'refund', value };
  if (TOKEN.test(value) && /[A-Za-z_-]/.test(value)) return { kind: 'token', value };
  const m = AMOUNT.exec(value);
  if (m && (value.includes('.') || /[¥￥元]|cny|rmb|yuan/i.test(value))) {
    const fen = Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
    return { kind: 'amount', value, amountFen: fen };
  }
  return { kind: 'text', value };
}
