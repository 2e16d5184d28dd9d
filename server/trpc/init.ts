// tRPC initialisation: superjson (Dates survive the wire), and AppError mapped to tRPC codes at the edge.
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import { AppError, type AppErrorCode } from '@/server/errors';
import type { Context } from './context';
import type { Permission } from '@/server/auth/permissions';

/** Procedure metadata: every admin procedure declares the permission it needs (server/trpc/admin.ts). */
export interface Meta {
  permission?: Permission | 'self';
}

const TRPC_CODE: Record<AppErrorCode, TRPCError['code']> = {
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  PAYMENT_PROVIDER_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    // Keep live-status streams alive through proxies, and let clients notice a dead one and reconnect.
    sse: { ping: { enabled: true, intervalMs: 10_000 }, client: { reconnectAfterInactivityMs: 25_000 } },
    errorFormatter({ shape, error }) {
      // Never leak internals: unexpected errors reach the client as a generic message.
      const safeMessage = error.cause instanceof AppError || error.code !== 'INTERNAL_SERVER_ERROR' ? shape.message : 'Something went wrong on our side.';
      return {
        ...shape,
        message: safeMessage,
        data: {
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          zodIssues: error.cause instanceof ZodError ? error.cause.issues.map((i) => ({ path: i.path, message: i.message })) : undefined,
        },
      };
    },
  });

/** Converts our AppError into the matching TRPCError so HTTP status and message are right. */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: TRPC_CODE[cause.code], message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const publicProcedure = t.procedure.use(appErrors);
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;
