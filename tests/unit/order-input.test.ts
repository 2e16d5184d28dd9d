// The order request's own checks, with no database: text that SQL and WeChat can take, the per-product
// cap counted after merging repeated lines, and the MAX_ORDER_AMOUNT_FEN setting.
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_MAX_ORDER_AMOUNT_FEN, loadEnv } from '@/server/env';
import { CheckoutItems } from '@/server/payments/orders';
import { invalidTextReason } from '@/server/safe-text';

const envOf = (vars: Record<string, string>) => loadEnv({ NODE_ENV: 'test', ...vars });

describe('invalidTextReason', () => {
  it('accepts ordinary ids and names in any script, emoji included', () => {
    for (const ok of ['ceramic-mug', '西湖龙井 50g', 'Café', 'mug-🍵', 'a'.repeat(64)]) expect(invalidTextReason(ok), ok).toBeNull();
  });
  it.each([
    ['\u0000', /NUL/],
    ['a\u0000b', /NUL/],
    ['tab\there', /control/],
    ['\u007f', /control/],
    ['\u009b', /control/],
    ['\ud83c', /lone surrogate/],
    ['\udf75x', /lone surrogate/],
    ['x\ud83c\ud83c', /lone surrogate/],
    ['\ufffe', /noncharacter/],
  ])('refuses %j', (text, reason) => {
    expect(invalidTextReason(text)).toMatch(reason);
  });
});

describe('CheckoutItems', () => {
  it('counts repeated lines of one product together against the cap of 99', () => {
    expect(
      CheckoutItems.safeParse([
        { productId: 'a', quantity: 60 },
        { productId: 'b', quantity: 99 },
        { productId: 'a', quantity: 39 },
      ]).success,
    ).toBe(true);
    const over = CheckoutItems.safeParse([
      { productId: 'b', quantity: 1 },
      { productId: 'a', quantity: 60 },
      { productId: 'a', quantity: 40 },
    ]);
    expect(over.success).toBe(false);
    expect(over.error?.issues).toEqual([
      expect.objectContaining({ path: [1, 'quantity'], message: 'at most 99 of one product per order: the lines for a add up to 100' }),
    ]);
  });
  it('still refuses a single line above 99, fractions, an empty cart and more than 20 lines', () => {
    expect(CheckoutItems.safeParse([{ productId: 'a', quantity: 100 }]).success).toBe(false);
    expect(CheckoutItems.safeParse([{ productId: 'a', quantity: 1.5 }]).success).toBe(false);
    expect(CheckoutItems.safeParse([]).success).toBe(false);
    expect(CheckoutItems.safeParse(Array.from({ length: 21 }, (_, i) => ({ productId: `p${i}`, quantity: 1 }))).success).toBe(false);
  });
});

describe('MAX_ORDER_AMOUNT_FEN setting', () => {
  it('defaults to ¥50,000 and takes an amount in fen', () => {
    expect(DEFAULT_MAX_ORDER_AMOUNT_FEN).toBe(5_000_000);
    expect(envOf({}).MAX_ORDER_AMOUNT_FEN).toBe(DEFAULT_MAX_ORDER_AMOUNT_FEN);
    expect(envOf({ MAX_ORDER_AMOUNT_FEN: '100000' }).MAX_ORDER_AMOUNT_FEN).toBe(100_000);
  });
  it.each(['0', '-5', '99.5', '¥500', '1000000001'])('refuses %s with a message naming the setting', (value) => {
    expect(() => envOf({ MAX_ORDER_AMOUNT_FEN: value })).toThrow(ConfigError);
    expect(() => envOf({ MAX_ORDER_AMOUNT_FEN: value })).toThrow(/MAX_ORDER_AMOUNT_FEN: .*fen/);
  });
});
