import { z } from 'zod';
import { can } from '@/server/auth/permissions';
import { auditActor } from '@/server/auth/session';
import { deleteView, listSavedViews, saveView } from '@/server/console/saved-views';
import { adminProcedure } from '../../admin';
import { router } from '../../init';

export const adminViewsRouter = router({
  list: adminProcedure('orders:view').query(({ ctx }) => listSavedViews(ctx.db)),
  save: adminProcedure('orders:view')
    .input(z.object({ name: z.string().trim().min(1).max(80), query: z.string().max(2000) }))
    .mutation(({ ctx, input }) => saveView(ctx.db, { ...auditActor(ctx.admin), id: ctx.admin.user.id }, input.name, input.query)),
  delete: adminProcedure('orders:view')
    .input(z.object({ id: z.uuid() }))
    .mutation(({ ctx, input }) => deleteView(ctx.db, auditActor(ctx.admin), input.id, can(ctx.admin.user.role, 'users:manage'))),
});
