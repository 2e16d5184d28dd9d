import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { seesFullPayerId } from '@/server/auth/permissions';
import { auditActor } from '@/server/auth/session';
import { loadOrderDetail } from '@/server/console/order-detail';
import { countOrders, CursorSchema, listOrders, OrdersFilterSchema } from '@/server/console/orders';
import { syncOrder } from '@/server/console/sync';
import { adminProcedure } from '../../admin';
import { router } from '../../init';

export const adminOrdersRouter = router({
  list: adminProcedure('orders:view')
    .input(z.object({ filter: OrdersFilterSchema, cursor: CursorSchema.optional(), limit: z.number().int().min(1).max(100).default(50) }))
    .query(async ({ ctx, input }) => {
      const [page, count] = await Promise.all([
        listOrders(ctx.db, input.filter, { cursor: input.cursor, limit: input.limit }),
        countOrders(ctx.db, input.filter),
      ]);
      return { ...page, count };
    }),
  /** The exact count, on demand (may scan). */
  countExact: adminProcedure('orders:view')
    .input(z.object({ filter: OrdersFilterSchema }))
    .query(({ ctx, input }) => countOrders(ctx.db, input.filter, null)),
  get: adminProcedure('orders:view')
    .input(z.object({ id: z.uuid() }))
    .query(async ({ ctx, input }) => {
      const detail = await loadOrderDetail(ctx.db, input.id, { fullPayerId: seesFullPayerId(ctx.admin.user.role) });
      if (!detail) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such order.' });
      return detail;
    }),
  sync: adminProcedure('orders:manage')
    .input(z.object({ id: z.uuid() }))
    .mutation(({ ctx, input }) => syncOrder(ctx.deps, auditActor(ctx.admin), input.id)),
});
