// The first-owner setup page's two public procedures: they do anything only while no user exists.
import { z } from 'zod';
import { requestMeta } from '@/server/auth/request-meta';
import { completeSetup, setupNeeded } from '@/server/auth/setup';
import { publicProcedure, router } from '../init';

export const setupRouter = router({
  status: publicProcedure.query(async ({ ctx }) => ({ needed: await setupNeeded(ctx.db) })),
  complete: publicProcedure
    .input(
      z.object({
        token: z.string().trim().min(10).max(100),
        email: z.email().max(200),
        name: z.string().trim().max(100).optional(),
        password: z.string().min(12).max(200),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const user = await completeSetup(ctx.db, input, requestMeta(ctx.headers));
      return { email: user.email };
    }),
});
