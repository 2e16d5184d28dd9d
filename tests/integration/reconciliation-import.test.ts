// Bill files as stored (issue 16 §1): an unparseable file is an ingestion status with its raw bytes kept
// (gzip) and is retried; a later good download replaces it; an identical re-import writes nothing; the trade
// rows are keyed on (bill date, bill type, transaction id, refund id).
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { and, eq } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { billFiles, billTradeRows } from '@/db/schema';
import { storeFile } from '@/server/reconciliation/import';
import { closeDb, getDb } from '../helpers/db';

afterAll(closeDb);

const DATE = '2026-03-03';
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const HEADER =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
const row = (tx: string, refundId: string, amount: string) =>
  [
    '2026-03-03 12:00:00',
    'wx1',
    '1900000001',
    '0',
    '',
    tx,
    'SPX1',
    'o',
    'NATIVE',
    refundId === '0' ? 'SUCCESS' : 'REFUND',
    'OTHERS',
    'CNY',
    amount,
    '0.00',
    refundId,
    refundId === '0' ? '0' : 'R1',
    '0.00',
    '0.00',
    '',
    '',
    '商品',
    '',
    '0.06000',
    '0.60%',
    amount,
    '0.00',
    '',
  ]
    .map((v) => `\`${v}`)
    .join(',');
const good = Buffer.from(
  `\uFEFF${[HEADER, row('4200A', '0', '10.00'), row('4200A', '5000R', '0.00'), row('4200A', '0', '10.00'), '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额', '`3,`10.00,`0.00,`0.00,`0.06,`10.00,`0.00'].join('\r\n')}\r\n`,
);

it('keeps an unparseable file with its status and error, then imports the good one', async () => {
  const db = getDb();
  const bad = Buffer.from('\uFEFFthis is not a bill\r\n');
  const first = await storeFile(db, DATE, 'trade_ALL', bad, sha1(bad));
  expect(first.status).toBe('unparseable');
  const [stored] = await db
    .select()
    .from(billFiles)
    .where(and(eq(billFiles.billDate, DATE), eq(billFiles.kind, 'trade_ALL')));
  expect(stored).toMatchObject({ status: 'unparseable', sha1: sha1(bad) });
  expect(stored?.error).toMatch(/header/);
  expect(gunzipSync(stored!.raw!).equals(bad)).toBe(true);

  const second = await storeFile(db, DATE, 'trade_ALL', good, sha1(good));
  expect(second).toMatchObject({ status: 'imported', changed: true });
  // A key twice in one file is one row; the refund row has its own key.
  const rows = await db.select().from(billTradeRows).where(eq(billTradeRows.billDate, DATE));
  expect(rows.map((r) => `${r.transactionId}/${r.refundId}`).sort()).toEqual(['4200A/', '4200A/5000R']);
  const [after] = await db
    .select()
    .from(billFiles)
    .where(and(eq(billFiles.billDate, DATE), eq(billFiles.kind, 'trade_ALL')));
  expect(after).toMatchObject({ status: 'imported', rowCount: 3, error: null, attempts: 2 });

  const third = await storeFile(db, DATE, 'trade_ALL', good, sha1(good));
  expect(third).toMatchObject({ status: 'imported', changed: false });
  expect((await db.select().from(billTradeRows).where(eq(billTradeRows.billDate, DATE))).map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
});
