import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { auditActor } from '@/server/auth/session';
import { can } from '@/server/auth/permissions';
import { EXPORT_PERMISSION, type ExportKind, getExport, listExports, requestOrdersExport } from '@/server/console/exports';
import { OrdersFilterSchema } from '@/server/console/orders';
import { adminProcedure, sensitiveProcedure } from '../../admin';
import { router } from '../../init';

export const adminExportsRouter = router({
  /** Bulk export is sensitive: it needs a fresh step-up. */
  createOrders: sensitiveProcedure('orders:view')
    .input(z.object({ filter: OrdersFilterSchema }))
    .mutation(({ ctx, input }) => requestOrdersExport(ctx.db, auditActor(ctx.admin), input.filter)),
  get: adminProcedure('orders:view')
    .input(z.object({ id: z.uuid() }))
    .query(async ({ ctx, input }) => {
      const row = await getExport(ctx.db, input.id, ctx.admin.user.id);
      if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such export.' });
      // An audit-log export stays readable only while its creator may read the audit log.
      if (!can(ctx.admin.user.role, EXPORT_PERMISSION[row.kind as ExportKind] ?? 'audit:view'))
        throw new TRPCError({ code: 'FORBIDDEN', message: 'Your role does not allow this.' });
      return row;
    }),
  list: adminProcedure('orders:view').query(({ ctx }) => listExports(ctx.db, ctx.admin.user.id)),
});
