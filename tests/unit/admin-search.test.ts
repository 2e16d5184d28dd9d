import { expect, test } from 'vitest';
import { recogniseSearch } from '@/server/console/orders';

test.each([
  ['3f2b8c1e-9a4d-4e2f-8b1a-2c3d4e5f6a7b', 'order_id'],
  ['4200001234202612011234567890', 'transaction_id'],
  ['SP20261201203000ABCDEFGH2345', 'out_trade_no'],
  ['LRSP20261201203000ABCDEFGH2345', 'refund'],
  ['50300001234567890123456789', 'refund'],
  ['Qm9vdHN0cmFwLXRva2VuLWZvci10ZXN0cy0xMjM0NTY', 'token'],
  ['¥12.30', 'amount'],
  ['12.30', 'amount'],
  ['12元', 'amount'],
  ['mug', 'text'],
])('%s is recognised as %s', (input, kind) => {
  expect(recogniseSearch(input)?.kind).toBe(kind);
});

test('amounts become fen', () => {
  expect(recogniseSearch('¥12.30')?.amountFen).toBe(1230);
  expect(recogniseSearch('￥ 0.5')?.amountFen).toBe(50);
  expect(recogniseSearch('  ')).toBeNull();
});
