// Parsers for WeChat Pay bill files (reference §8.4): the trade bill (ALL / SUCCESS / REFUND column sets) and
// the fund-flow bill. Files are UTF-8 with a BOM, CRLF line ends, a header line, backtick-prefixed detail
// fields (so Excel keeps long numbers as text), then a summary header and ONE summary line (§14 #19).
//
// Columns are looked up by their header name, never by position: WeChat adds columns over time, and an added
// column must not shift every amount one place to the right. Unknown columns are kept in `raw`.
// Amounts are yuan in the file and become integer fen here by string arithmetic only — `Math.round(x * 100)`
// on a parsed float is exactly the kind of rounding a reconciliation must never depend on.

export class BillParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BillParseError';
  }
}

const DECIMAL_RE = /^([+-])?(\d+)(?:\.(\d+))?$/;

/**
 * Exact decimal → integer in units of 10^-`scale` (e.g. scale 2: yuan → fen). Refuses more fractional digits
 * than `scale` unless they are zeros, and anything that is not a plain decimal (no exponent, no thousands
 * separators). Throws BillParseError.
 */
export function decimalToUnits(value: string, scale: number): number {
  const m = DECIMAL_RE.exec(value.trim());
  if (!m) throw new BillParseError(`not a decimal amount: ${JSON.stringify(value.slice(0, 30))}`);
  const [, sign, whole, fraction = ''] = m;
  if (fraction.length > scale && !/^0*$/.test(fraction.slice(scale))) {
    throw new BillParseError(`more than ${scale} decimals: ${JSON.stringify(value.slice(0, 30))}`);
  }
  const units = Number(whole) * 10 ** scale + Number(fraction.slice(0, scale).padEnd(scale, '0') || '0');
  if (!Number.isSafeInteger(units)) throw new BillParseError(`amount out of range: ${JSON.stringify(value.slice(0, 30))}`);
  return sign === '-' && units !== 0 ? -units : units;
}

/** `12.34` yuan → 1234 fen, exactly. `0.0`, `5` and `-0.01` are accepted. */
export function yuanToFen(value: string): number {
  return decimalToUnits(value, 2);
}

/** Fees carry five decimals (`0.07404`): units of 1e-5 yuan, i.e. thousandths of a fen. */
export function yuanToMilliFen(value: string): number {
  return decimalToUnits(value, 5);
}

/** A count written as `45` or `45.0` (seen in real files). */
function count(value: string): number {
  const units = decimalToUnits(value, 0);
  if (units < 0) throw new BillParseError(`negative count: ${value}`);
  return units;
}

/** A bill's header and summary, read up front; its detail rows read one at a time (a day can be 100,000s). */
interface Table {
  columns: string[];
  summaryColumns: string[];
  summary: Record<string, string>;
  rows(): Generator<{ raw: Record<string, string>; where: string }>;
}

const zip = (names: string[], values: string[], where: string): Record<string, string> => {
  if (values.length !== names.length) throw new BillParseError(`${where}: ${values.length} fields for ${names.length} columns`);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
};

/**
 * Finds the header, the detail lines and the two-line summary without splitting the file into an array of
 * lines or decoding it whole: only the file's bytes stay in memory, and each line is decoded (and its row
 * exists) while it is being read.
 */
function openTable(input: string | Uint8Array): Table {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  /** Line [start, end) without its CR. */
  const lineAt = (start: number, end: number) => decoder.decode(bytes.subarray(start, end > start && bytes[end - 1] === 0x0d ? end - 1 : end));
  // The last two lines with something on them (blank lines at the end are not lines of the bill).
  const tail: Array<{ start: number; line: string }> = [];
  let end = bytes.length;
  while (tail.length < 2 && end > bom) {
    const nl = bytes.lastIndexOf(0x0a, end - 1);
    const start = Math.max(nl + 1, bom);
    const line = lineAt(start, end);
    if (line.trim() !== '' || tail.length > 0) tail.unshift({ start, line });
    end = Math.max(nl, bom);
  }
  const headerEnd = bytes.indexOf(0x0a, bom);
  const summaryHeader = tail[0];
  if (tail.length < 2 || headerEnd < 0 || !summaryHeader || summaryHeader.start <= headerEnd) {
    throw new BillParseError('a bill has at least a header and a two-line summary');
  }
  const columns = splitLine(lineAt(bom, headerEnd));
  const summaryColumns = splitLine(summaryHeader.line);
  const bodyEnd = summaryHeader.start;
  function* rows(): Generator<{ raw: Record<string, string>; where: string }> {
    let pos = headerEnd + 1;
    for (let i = 2; pos < bodyEnd; i++) {
      // The summary header starts a line, so a line end comes before it.
      const lineEnd = bytes.indexOf(0x0a, pos);
      const where = `line ${i}`;
      yield { raw: zip(columns, splitLine(lineAt(pos, lineEnd)), where), where };
      pos = lineEnd + 1;
    }
  }
  return { columns, summaryColumns, summary: zip(summaryColumns, splitLine(tail[1]!.line), 'summary'), rows };
}

/**
 * Header lines are plain `a,b,c`. Data lines prefix every field with a backtick: splitting on ",`" after
 * dropping the first backtick keeps a comma inside a value (a product name, say) from breaking the row.
 */
function splitLine(line: string): string[] {
  return line.startsWith('`') ? line.slice(1).split(',`') : line.split(',').map((c) => c.trim());
}

/** Full-width and half-width parentheses both occur in column names (`收支金额（元）`). */
function normaliseName(name: string): string {
  let n = normalised.get(name);
  if (n === undefined) {
    n = name.replace(/（/g, '(').replace(/）/g, ')').trim();
    // Column names are few; a bill has 100,000 rows asking for the same ones (an absent column once per row).
    if (normalised.size < 1000) normalised.set(name, n);
  }
  return n;
}
const normalised = new Map<string, string>();

function pick(row: Record<string, string>, name: string): string | undefined {
  if (name in row) return row[name];
  const wanted = normaliseName(name);
  for (const [k, v] of Object.entries(row)) if (normaliseName(k) === wanted) return v;
  return undefined;
}

function required(row: Record<string, string>, name: string, where: string): string {
  const v = pick(row, name);
  if (v === undefined) throw new BillParseError(`${where}: missing column ${name}`);
  return v;
}

/** `0` and empty mean "none" in the refund-number columns of payment rows. */
function noneIfZero(value: string | undefined): string | null {
  return value === undefined || value === '' || value === '0' ? null : value;
}

// ------------------------------------------------------------------ trade bill

export type TradeBillKind = 'ALL' | 'SUCCESS' | 'REFUND';

export interface TradeBillRow {
  /** 交易时间, Beijing time as written (`2019-02-19 05:01:46`): payment time, or refund application time on ALL refund rows. */
  tradeTime: string;
  appid: string;
  mchid: string;
  subMchid: string;
  deviceInfo: string;
  transactionId: string;
  outTradeNo: string;
  openid: string;
  tradeType: string;
  /** SUCCESS for a payment row, REFUND for a refund row (REVOKED also exists). */
  tradeState: string;
  bankType: string;
  currency: string;
  /** 应结订单金额 */
  settlementTotalFen: number;
  /** 代金券金额 */
  couponFen: number;
  /** 微信退款单号 / 商户退款单号: null on payment rows (written `0`) and absent in SUCCESS bills. */
  refundId: string | null;
  outRefundNo: string | null;
  refundFen: number;
  couponRefundFen: number;
  refundType: string;
  refundStatus: string;
  goodsName: string;
  attach: string;
  /** 手续费 in thousandths of a fen (five decimals of yuan); negative on refund rows. */
  feeMilliFen: number;
  /** 费率 as written, e.g. `0.60%`. */
  rate: string;
  /** 订单金额 */
  totalFen: number;
  /** 申请退款金额 */
  applyRefundFen: number;
  rateRemark: string;
  /** REFUND bills only. */
  refundApplyTime: string | null;
  refundSuccessTime: string | null;
  /** Every field by its header name, including columns this parser does not know. */
  raw: Record<string, string>;
}

export interface TradeBillSummary {
  count: number;
  settlementTotalFen: number;
  /** Absent (0) in SUCCESS bills. */
  refundFen: number;
  couponRefundFen: number;
  feeMilliFen: number;
  totalFen: number;
  applyRefundFen: number;
  raw: Record<string, string>;
}

export interface TradeBill {
  kind: TradeBillKind;
  columns: string[];
  rows: TradeBillRow[];
  summary: TradeBillSummary;
}

/** A trade bill whose rows are read one at a time: the header and summary are checked on opening. */
export interface TradeBillReader extends Omit<TradeBill, 'rows'> {
  /** Parses each row as it is asked for (throws BillParseError on a bad one). */
  rows(): Generator<TradeBillRow>;
}

/** Opens a trade bill (bytes as downloaded and decompressed, or text). Throws BillParseError. */
export function readTradeBill(input: string | Uint8Array): TradeBillReader {
  const table = openTable(input);
  const names = new Set(table.columns.map(normaliseName));
  const kind: TradeBillKind = names.has('退款申请时间') ? 'REFUND' : names.has('微信退款单号') ? 'ALL' : 'SUCCESS';
  const optionalFen = (row: Record<string, string>, name: string) => {
    const v = pick(row, name);
    return v === undefined || v === '' ? 0 : yuanToFen(v);
  };
  const toRow = (raw: Record<string, string>, where: string): TradeBillRow => {
    const get = (name: string) => required(raw, name, where);
    try {
      return {
        tradeTime: get('交易时间'),
        appid: get('公众账号ID'),
        mchid: get('商户号'),
        subMchid: pick(raw, '特约商户号') ?? '',
        deviceInfo: pick(raw, '设备号') ?? '',
        transactionId: get('微信订单号'),
        outTradeNo: get('商户订单号'),
        openid: pick(raw, '用户标识') ?? '',
        tradeType: get('交易类型'),
        tradeState: get('交易状态'),
        bankType: pick(raw, '付款银行') ?? '',
        currency: pick(raw, '货币种类') ?? '',
        settlementTotalFen: yuanToFen(get('应结订单金额')),
        couponFen: optionalFen(raw, '代金券金额'),
        refundId: noneIfZero(pick(raw, '微信退款单号')),
        outRefundNo: noneIfZero(pick(raw, '商户退款单号')),
        refundFen: optionalFen(raw, '退款金额'),
        couponRefundFen: optionalFen(raw, '充值券退款金额'),
        refundType: pick(raw, '退款类型') ?? '',
        refundStatus: pick(raw, '退款状态') ?? '',
        goodsName: pick(raw, '商品名称') ?? '',
        attach: pick(raw, '商户数据包') ?? '',
        feeMilliFen: yuanToMilliFen(get('手续费')),
        rate: pick(raw, '费率') ?? '',
        totalFen: yuanToFen(get('订单金额')),
        applyRefundFen: optionalFen(raw, '申请退款金额'),
        rateRemark: pick(raw, '费率备注') ?? '',
        refundApplyTime: noneIfZero(pick(raw, '退款申请时间')),
        refundSuccessTime: noneIfZero(pick(raw, '退款成功时间')),
        raw,
      };
    } catch (err) {
      throw err instanceof BillParseError && !err.message.startsWith('line') ? new BillParseError(`${where}: ${err.message}`) : err;
    }
  };
  const s = table.summary;
  const summaryFen = (name: string) => {
    const v = pick(s, name);
    return v === undefined || v === '' ? 0 : yuanToFen(v);
  };
  const summary: TradeBillSummary = {
    count: count(required(s, '总交易单数', 'summary')),
    settlementTotalFen: yuanToFen(required(s, '应结订单总金额', 'summary')),
    refundFen: summaryFen('退款总金额'),
    couponRefundFen: summaryFen('充值券退款总金额'),
    feeMilliFen: yuanToMilliFen(required(s, '手续费总金额', 'summary')),
    totalFen: yuanToFen(required(s, '订单总金额', 'summary')),
    applyRefundFen: summaryFen('申请退款总金额'),
    raw: s,
  };
  return {
    kind,
    columns: table.columns,
    summary,
    *rows() {
      for (const { raw, where } of table.rows()) yield toRow(raw, where);
    },
  };
}

/** Parses a whole trade bill at once (small files; imports read rows as they go with readTradeBill). */
export function parseTradeBill(input: string | Uint8Array): TradeBill {
  const { rows, ...bill } = readTradeBill(input);
  return { ...bill, rows: [...rows()] };
}

// ------------------------------------------------------------------ fund-flow bill

export interface FundFlowRow {
  /** 记账时间 as written (Beijing time). */
  time: string;
  /** 微信支付业务单号: transaction_id or refund_id of what moved the money. */
  businessId: string;
  /** 资金流水单号 */
  flowId: string;
  /** 业务名称, e.g. 交易 / 退款 / 手续费 */
  name: string;
  /** 业务类型 */
  type: string;
  /** 收支类型: 收入 → income, 支出 → expense. */
  direction: 'income' | 'expense';
  amountFen: number;
  balanceFen: number;
  applicant: string;
  remark: string;
  /** 业务凭证号 */
  voucher: string;
  raw: Record<string, string>;
}

export interface FundFlowBill {
  columns: string[];
  rows: FundFlowRow[];
  summary: { count: number; incomeCount: number; incomeFen: number; expenseCount: number; expenseFen: number; raw: Record<string, string> };
}

/** A fund-flow bill whose rows are read one at a time: the header and summary are checked on opening. */
export interface FundFlowBillReader extends Omit<FundFlowBill, 'rows'> {
  rows(): Generator<FundFlowRow>;
}

/** Opens a fund-flow bill (reference §8.2). Throws BillParseError. */
export function readFundFlowBill(input: string | Uint8Array): FundFlowBillReader {
  const table = openTable(input);
  const toRow = (raw: Record<string, string>, where: string): FundFlowRow => {
    const get = (name: string) => required(raw, name, where);
    const direction = get('收支类型');
    if (direction !== '收入' && direction !== '支出') throw new BillParseError(`${where}: unknown 收支类型 ${direction.slice(0, 10)}`);
    return {
      time: get('记账时间'),
      businessId: get('微信支付业务单号'),
      flowId: pick(raw, '资金流水单号') ?? '',
      name: get('业务名称'),
      type: pick(raw, '业务类型') ?? '',
      direction: direction === '收入' ? 'income' : 'expense',
      amountFen: yuanToFen(get('收支金额（元）')),
      balanceFen: yuanToFen(get('账户结余（元）')),
      applicant: pick(raw, '资金变更提交申请人') ?? '',
      remark: pick(raw, '备注') ?? '',
      voucher: pick(raw, '业务凭证号') ?? '',
      raw,
    };
  };
  const s = table.summary;
  return {
    columns: table.columns,
    summary: {
      count: count(required(s, '资金流水总笔数', 'summary')),
      incomeCount: count(required(s, '收入笔数', 'summary')),
      incomeFen: yuanToFen(required(s, '收入金额', 'summary')),
      expenseCount: count(required(s, '支出笔数', 'summary')),
      expenseFen: yuanToFen(required(s, '支出金额', 'summary')),
      raw: s,
    },
    *rows() {
      for (const { raw, where } of table.rows()) yield toRow(raw, where);
    },
  };
}

/** Parses a whole fund-flow bill at once (small files; imports read rows as they go with readFundFlowBill). */
export function parseFundFlowBill(input: string | Uint8Array): FundFlowBill {
  const { rows, ...bill } = readFundFlowBill(input);
  return { ...bill, rows: [...rows()] };
}
