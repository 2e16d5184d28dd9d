import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { orders } from '@/db/schema';
import { AppError } from '@/server/errors';
import type { Context } from '../context';
import { subscribeOrderStatus } from '@/server/live/listener';
import { checkCheckout, getCheckoutView, renewCheckout, startCheckout, type CheckoutView } from '@/server/payments/checkout';
import { CheckoutItems } from '@/server/payments/orders';
import { loadCheckoutView } from '@/server/payments/view-loader';
import { publicProcedure, router } from '../init';

const Token = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'malformed token');
const TokenInput = z.object({ token: Token });

function withMerchant(view: CheckoutView, merchantName: string) {
  return { ...view, merchantName };
}

async function viewOrThrow(ctx: Context, token: string) {
  const view = await getCheckoutView(ctx.db, token);
  if (!view) throw new AppError('NOT_FOUND', 'Order not found');
  return withMerchant(view, ctx.deps.env.MERCHANT_NAME);
}

export const checkoutRouter = router({
  /** Stable contract: `{ items: [{ productId, quantity }] }` → `{ token, checkoutUrl }`. */
  create: publicProcedure
    .input(z.object({ items: CheckoutItems }))
    .mutation(({ ctx, input }) => startCheckout(ctx.deps, { items: input.items, clientIp: ctx.clientIp })),

  /** Stable contract: `{ token }` → `{ status, amountFen, outTradeNo, codeUrl, expiresAt, ... }`. */
  status: publicProcedure.input(TokenInput).query(({ ctx, input }) => viewOrThrow(ctx, input.token)),

  /** After the QR code expired: confirm the old attempt unpaid and closed, then issue a new one. */
  renew: publicProcedure.input(TokenInput).mutation(async ({ ctx, input }) => {
    return withMerchant(await renewCheckout(ctx.deps, input.token), ctx.deps.env.MERCHANT_NAME);
  }),

  /** "I've paid": ask WeChat right away and say what it found. */
  check: publicProcedure.input(TokenInput).mutation(async ({ ctx, input }) => {
    const { found, view } = await checkCheckout(ctx.deps, input.token);
    return { found, view: withMerchant(view, ctx.deps.env.MERCHANT_NAME) };
  }),

  /**
   * Live status over SSE: the current view, then a fresh view after every change, in whatever process it
   * happened (Postgres LISTEN/NOTIFY). Clients fall back to polling `status` when the stream drops.
   */
  onStatus: publicProcedure.input(TokenInput).subscription(async function* ({ ctx, input, signal }) {
    const [order] = await ctx.db.select({ id: orders.id }).from(orders).where(eq(orders.token, input.token));
    if (!order) throw new AppError('NOT_FOUND', 'Order not found');
    let pending = true; // subscribe first, then read: no change can slip between the two
    let wake: (() => void) | undefined;
    const unsubscribe = await subscribeOrderStatus(ctx.deps.env.DATABASE_URL!, order.id, () => {
      pending = true;
      wake?.();
    });
    const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
    try {
      let last = '';
      while (!signal?.aborted) {
        if (!pending) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
        if (signal?.aborted) break;
        pending = false;
        // Batched with the other streams woken by the same commit (a worker pays a batch at once).
        const found = await loadCheckoutView(ctx.db, input.token);
        if (!found) throw new AppError('NOT_FOUND', 'Order not found');
        const view = withMerchant(found, ctx.deps.env.MERCHANT_NAME);
        const key = JSON.stringify(view); // any change the page shows, not only the status
        if (key !== last) {
          last = key;
          yield view;
        }
      }
    } finally {
      unsubscribe();
    }
  }),
});
