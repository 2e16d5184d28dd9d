// The simulator's fee arithmetic (simulator/orders.ts): rate × amount rounded half up to the fen, per transaction,
// in integers only.
import { describe, expect, it } from 'vitest';
import { feeFor, feeRatePpm } from '../../simulator/orders';

describe('fees', () => {
  it('rounds half up per transaction at the default 0.6 %', () => {
    const ppm = feeRatePpm({});
    expect(ppm).toBe(6_000);
    expect([1, 83, 84, 100, 10_000, 2_147_483_647].map((f) => feeFor(f, ppm))).toEqual([0, 0, 1, 1, 60, 12_884_902]);
  });

  it('takes any configured rate without floating-point drift', () => {
    const ppm = feeRatePpm({ feeRate: 0.0038 });
    expect(ppm).toBe(3_800);
    expect(feeFor(13_158, ppm)).toBe(50); // 49.99 → 50
    expect(feeFor(13_157, ppm)).toBe(50); // 49.9966 → 50
    expect(feeFor(13_156, ppm)).toBe(50); // 49.9928 → 50
    expect(feeFor(13_000, ppm)).toBe(49); // 49.4 → 49
    expect(feeFor(100, feeRatePpm({ feeRate: 0 }))).toBe(0);
  });
});
