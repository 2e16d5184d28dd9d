import { z } from 'zod';
import { AppError } from '@/server/errors';
import { loadEnv } from '@/server/env';
import { getGateway } from '@/server/payments/gateway';
import { CheckoutItems, createOrder, getCheckoutView, requestPrepay } from '@/server/payments/orders';
import { publicProcedure, router } from '../init';

const Token = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'malformed token');

export const checkoutRouter = router({
  /** Stable contract: `{ items: [{ productId, quantity }] }` → `{ token, checkoutUrl }`. */
  create: publicProcedure.input(z.object({ items: CheckoutItems })).mutation(async ({ ctx, input }) => {
    const env = loadEnv();
    const order = await createOrder(ctx.db, { items: input.items, clientIp: ctx.clientIp, expireMinutes: env.ORDER_EXPIRE_MINUTES });
    // Committed above; the WeChat call happens after, outside any transaction.
    await requestPrepay(ctx.db, getGateway(), order.attemptId, env.notifyUrl);
    return { token: order.token, checkoutUrl: `${env.appUrl}/checkout/${order.token}` };
  }),

  /** Stable contract: `{ token }` → `{ status, amountFen, outTradeNo, codeUrl, expiresAt, ... }`. */
  status: publicProcedure.input(z.object({ token: Token })).query(async ({ ctx, input }) => {
    const view = await getCheckoutView(ctx.db, input.token);
    if (!view) throw new AppError('NOT_FOUND', 'Order not found');
    const { token: _token, ...rest } = view;
    return { ...rest, merchantName: loadEnv().MERCHANT_NAME };
  }),
});
