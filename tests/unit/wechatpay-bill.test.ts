// Bill parsing (reference §8.4, §14 #19): BOM, CRLF, backtick-prefixed fields, header + two-line summary,
// the ALL / SUCCESS / REFUND column sets, added columns, and yuan → integer fen without floating point.
import { describe, expect, it } from 'vitest';
import {
  BillParseError,
  decimalToUnits,
  parseFundFlowBill,
  parseTradeBill,
  readFundFlowBill,
  readTradeBill,
  yuanToFen,
  yuanToMilliFen,
} from '../../server/wechatpay/bill';

const BOM = '\uFEFF';
const ALL_HEADER =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
const row = (values: string[]) => values.map((v) => `\`${v}`).join(',');
const PAY = row([
  '2026-03-01 10:00:01',
  'wx0000000000000001',
  '1900000001',
  '0',
  '',
  '4200000001202603010000000001',
  'SP2026030100001',
  'oUser1',
  'NATIVE',
  'SUCCESS',
  'OTHERS',
  'CNY',
  '19.99',
  '0.00',
  '0',
  '0',
  '0.00',
  '0.00',
  '',
  '',
  '龙井茶, 250g',
  'cart-7',
  '0.11994',
  '0.60%',
  '19.99',
  '0.00',
  '',
]);
const REFUND = row([
  '2026-03-01 12:30:00',
  'wx0000000000000001',
  '1900000001',
  '0',
  '',
  '4200000001202603010000000001',
  'SP2026030100001',
  'oUser1',
  'NATIVE',
  'REFUND',
  'OTHERS',
  'CNY',
  '0.00',
  '0.00',
  '50300000012026030100000001',
  'RF1',
  '0.07',
  '0.00',
  'ORIGINAL',
  'SUCCESS',
  '龙井茶, 250g',
  'cart-7',
  '-0.00042',
  '0.60%',
  '0.00',
  '0.07',
  '',
]);
const ALL_SUMMARY = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';

function file(lines: string[], eol = '\r\n', bom = true): string {
  return `${bom ? BOM : ''}${lines.join(eol)}${eol}`;
}

describe('yuanToFen', () => {
  it.each([
    ['0.01', 1],
    ['0.07', 7],
    ['19.99', 1999],
    ['1.1', 110],
    ['0.0', 0],
    ['5', 500],
    ['-0.01', -1],
    ['1.10', 110],
    ['12345678.91', 1234567891],
    ['0.290', 29],
  ])('%s → %i fen exactly', (yuan, fen) => {
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it('gets right what floating point gets wrong', () => {
    // 0.29 * 100 = 28.999999999999996 and 1.005 * 100 = 100.49999999999999 in IEEE doubles.
    expect(Math.floor(0.29 * 100)).toBe(28);
    expect(yuanToFen('0.29')).toBe(29);
    expect(yuanToFen('4.35')).toBe(435);
  });

  it.each(['1.005', '1e3', '1,000.00', '', '¥1.00', '.5', '1.', 'NaN', '0x10'])('refuses %j', (value) => {
    expect(() => yuanToFen(value)).toThrow(BillParseError);
  });

  it('fees keep five decimals as thousandths of a fen', () => {
    expect(yuanToMilliFen('0.07404')).toBe(7404);
    expect(yuanToMilliFen('-0.00042')).toBe(-42);
    expect(yuanToMilliFen('0.08')).toBe(8000);
    expect(decimalToUnits('45.0', 0)).toBe(45);
  });
});

describe('parseTradeBill', () => {
  it('parses an ALL bill: BOM, CRLF, backticks, a comma inside a value, summary', () => {
    const bill = parseTradeBill(file([ALL_HEADER, PAY, REFUND, ALL_SUMMARY, row(['2', '19.99', '0.07', '0.00', '0.11952', '19.99', '0.07'])]));
    expect(bill.kind).toBe('ALL');
    expect(bill.rows).toHaveLength(2);
    const [pay, refund] = bill.rows;
    expect(pay).toMatchObject({
      tradeTime: '2026-03-01 10:00:01',
      appid: 'wx0000000000000001',
      transactionId: '4200000001202603010000000001',
      outTradeNo: 'SP2026030100001',
      tradeType: 'NATIVE',
      tradeState: 'SUCCESS',
      settlementTotalFen: 1999,
      totalFen: 1999,
      refundId: null,
      outRefundNo: null,
      refundFen: 0,
      goodsName: '龙井茶, 250g',
      attach: 'cart-7',
      feeMilliFen: 11994,
      rate: '0.60%',
      rateRemark: '',
      refundApplyTime: null,
    });
    expect(refund).toMatchObject({
      tradeState: 'REFUND',
      refundId: '50300000012026030100000001',
      outRefundNo: 'RF1',
      refundFen: 7,
      applyRefundFen: 7,
      refundStatus: 'SUCCESS',
      feeMilliFen: -42,
    });
    expect(bill.summary).toMatchObject({ count: 2, settlementTotalFen: 1999, refundFen: 7, feeMilliFen: 11952, totalFen: 1999, applyRefundFen: 7 });
  });

  it('does not care about BOM or line endings', () => {
    const lines = [ALL_HEADER, PAY, ALL_SUMMARY, row(['1', '19.99', '0.00', '0.00', '0.11994', '19.99', '0.00'])];
    const a = parseTradeBill(file(lines, '\r\n', true));
    const b = parseTradeBill(file(lines, '\n', false));
    const c = parseTradeBill(new TextEncoder().encode(file(lines)));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a.columns[0]).toBe('交易时间'); // the BOM is not glued to the first column name
  });

  it('treats the last two lines as the summary, not as a trade', () => {
    const bill = parseTradeBill(file([ALL_HEADER, ALL_SUMMARY, row(['45.0', '0.47', '0.14', '0.0', '0.08', '0.47', '0.14'])]));
    expect(bill.rows).toEqual([]);
    expect(bill.summary).toMatchObject({ count: 45, settlementTotalFen: 47, refundFen: 14, couponRefundFen: 0, feeMilliFen: 8000 });
  });

  it('finds columns by name: an added column anywhere shifts nothing and is kept in raw', () => {
    const header = ALL_HEADER.replace('商品名称,', '商品名称,新增字段,');
    const values = PAY.split(',`');
    const idx = ALL_HEADER.split(',').indexOf('商品名称');
    values.splice(idx + 1, 0, 'surprise');
    const bill = parseTradeBill(file([header, values.join(',`'), ALL_SUMMARY, row(['1', '19.99', '0.00', '0.00', '0.11994', '19.99', '0.00'])]));
    expect(bill.rows[0]).toMatchObject({ goodsName: '龙井茶, 250g', attach: 'cart-7', totalFen: 1999 });
    expect(bill.rows[0]!.raw['新增字段']).toBe('surprise');
  });

  it('recognises the SUCCESS column set', () => {
    const header =
      '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注';
    const line = row([
      '2026-03-01 10:00:01',
      'wx1',
      '1900000001',
      '0',
      '',
      '4200',
      'SP1',
      'o1',
      'NATIVE',
      'SUCCESS',
      'OTHERS',
      'CNY',
      '0.01',
      '0.00',
      'tea',
      '',
      '0.00006',
      '0.60%',
      '0.01',
      '',
    ]);
    const bill = parseTradeBill(file([header, line, '总交易单数,应结订单总金额,手续费总金额,订单总金额', row(['1', '0.01', '0.00006', '0.01'])]));
    expect(bill.kind).toBe('SUCCESS');
    expect(bill.rows[0]).toMatchObject({ totalFen: 1, refundId: null, refundFen: 0, feeMilliFen: 6 });
    expect(bill.summary).toMatchObject({ count: 1, refundFen: 0, totalFen: 1 });
  });

  it('recognises the REFUND column set with its two extra times', () => {
    const cols = ALL_HEADER.split(',');
    const header = [...cols.slice(0, 14), '退款申请时间', '退款成功时间', ...cols.slice(14)].join(',');
    const values = REFUND.slice(1).split(',`');
    values.splice(14, 0, '2026-03-01 12:30:00', '2026-03-01 12:30:31');
    const bill = parseTradeBill(file([header, `\`${values.join(',`')}`, ALL_SUMMARY, row(['1', '0.00', '0.07', '0.00', '-0.00042', '0.00', '0.07'])]));
    expect(bill.kind).toBe('REFUND');
    expect(bill.rows[0]).toMatchObject({ refundApplyTime: '2026-03-01 12:30:00', refundSuccessTime: '2026-03-01 12:30:31', refundFen: 7 });
  });

  it('fails loudly on a short row, a missing column, a float-looking amount or a file without summary', () => {
    const summary = [ALL_SUMMARY, row(['1', '19.99', '0.00', '0.00', '0.11994', '19.99', '0.00'])];
    expect(() => parseTradeBill(file([ALL_HEADER, PAY.split(',`').slice(0, 20).join(',`'), ...summary]))).toThrow(/line 2/);
    expect(() => parseTradeBill(file([ALL_HEADER.replace(',订单金额,', ',金额,'), PAY, ...summary]))).toThrow(/missing column 订单金额/);
    expect(() => parseTradeBill(file([ALL_HEADER, PAY.replace('19.99', '1.999e1'), ...summary]))).toThrow(BillParseError);
    expect(() => parseTradeBill(file([ALL_HEADER, PAY]))).toThrow(BillParseError);
  });
});

describe('parseFundFlowBill', () => {
  it('parses income and expense with balances in fen', () => {
    const header = '记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号';
    const bill = parseFundFlowBill(
      file([
        header,
        row(['2026-03-01 10:00:01', '4200', '1001', '交易', '交易', '收入', '19.99', '19.99', 'system', '', 'SP1']),
        row(['2026-03-01 10:00:01', '4200', '1002', '手续费', '扣除交易手续费', '支出', '0.12', '19.87', 'system', '', 'SP1']),
        '资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额',
        row(['2', '1', '19.99', '1', '0.12']),
      ]),
    );
    expect(bill.rows.map((r) => [r.direction, r.amountFen, r.balanceFen, r.voucher])).toEqual([
      ['income', 1999, 1999, 'SP1'],
      ['expense', 12, 1987, 'SP1'],
    ]);
    expect(bill.summary).toMatchObject({ count: 2, incomeCount: 1, incomeFen: 1999, expenseCount: 1, expenseFen: 12 });
  });
});

describe('readTradeBill (rows one at a time, as an import reads a 100,000-row day)', () => {
  const summary = [ALL_SUMMARY, row(['2', '19.99', '0.07', '0.00', '0.11952', '19.99', '0.07'])];

  it('checks the header and summary on opening, then yields the same rows parseTradeBill returns', () => {
    const text = file([ALL_HEADER, PAY, REFUND, ...summary]);
    const reader = readTradeBill(text);
    expect(reader.kind).toBe('ALL');
    expect(reader.summary.count).toBe(2);
    const rows = reader.rows();
    expect(rows.next().value).toEqual(parseTradeBill(text).rows[0]);
    expect([...rows]).toEqual(parseTradeBill(text).rows.slice(1));
    // A second pass reads the file again from its first row.
    expect([...reader.rows()]).toHaveLength(2);
  });

  it('a bad line fails when it is reached, after the good lines before it, with its line number', () => {
    const short = PAY.split(',`').slice(0, 20).join(',`');
    const rows = readTradeBill(file([ALL_HEADER, PAY, short, ...summary], '\r\n', true)).rows();
    expect(rows.next().value?.outTradeNo).toBe('SP2026030100001');
    expect(() => rows.next()).toThrow(/^line 3: 20 fields for 27 columns/);
  });

  it('a bad summary fails on opening, before any row is read', () => {
    expect(() => readTradeBill(file([ALL_HEADER, PAY, ALL_SUMMARY, row(['x', '19.99', '0.07', '0.00', '0.11952', '19.99', '0.07'])]))).toThrow(BillParseError);
    expect(() => readTradeBill(file([ALL_HEADER, ALL_SUMMARY]))).toThrow(/at least a header and a two-line summary/);
  });

  it('a blank line inside the rows is a bad line; blank lines after the summary are not lines', () => {
    expect(() => [...readTradeBill(file([ALL_HEADER, PAY, '', REFUND, ...summary])).rows()]).toThrow(/^line 3:/);
    expect([...readTradeBill(`${file([ALL_HEADER, PAY, REFUND, ...summary])}\r\n\r\n  \r\n`).rows()]).toHaveLength(2);
  });
});

describe('readFundFlowBill', () => {
  it('yields the rows parseFundFlowBill returns', () => {
    const header = '记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号';
    const text = file([
      header,
      row(['2026-03-01 10:00:01', '4200', '1001', '交易', '交易', '收入', '19.99', '19.99', 'system', '', 'SP1']),
      row(['2026-03-01 10:00:02', '4200', '1002', '手续费', '扣除交易手续费', '转账', '0.12', '19.87', 'system', '', 'SP1']),
      '资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额',
      row(['2', '1', '19.99', '1', '0.12']),
    ]);
    const rows = readFundFlowBill(text).rows();
    expect(rows.next().value?.amountFen).toBe(1999);
    expect(() => rows.next()).toThrow(/^line 3: unknown 收支类型/);
  });
});
