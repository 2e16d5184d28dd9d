// Real orders for the benchmark's notifications: created through the app's own `createOrder` (order, items,
// first attempt and its compensation jobs in one transaction), a few at a time.
import type { Db } from '@/db/client';
import { DEMO_PRODUCTS } from '@/db/seed';
import { createOrder } from '@/server/payments/orders';
import type { OrderRef } from './notifications';

export async function createOrders(db: Db, n: number, concurrency = 12): Promise<OrderRef[]> {
  const started = performance.now();
  const out: OrderRef[] = new Array(n);
  let next = 0;
  const run = async () => {
    while (next < n) {
      const i = next++;
      const product = DEMO_PRODUCTS[i % DEMO_PRODUCTS.length]!;
      const order = await createOrder(db, {
        items: [{ productId: product.id, quantity: 1 + (i % 3) }],
        clientIp: '127.0.0.1',
        // Long enough that nothing expires during a run; the first active query is 500 s out (scale 100).
        expireMinutes: 180,
        scale: 100,
      });
      out[i] = { token: order.token, outTradeNo: order.outTradeNo, amountFen: order.amountFen };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, run));
  if (process.env.BENCH_DEBUG) console.log(`[bench] created ${n} orders in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return out;
}
