// The console's developers area: API keys, webhook endpoints and their delivery log. Creating, rolling
// and revoking keys and changing endpoints are sensitive (step-up); the domains audit every change.
import { z } from 'zod';
import { createApiKey, listApiKeys, revokeApiKey, rollApiKey } from '@/server/api-keys/keys';
import { ApiScopeSchema } from '@/server/api-keys/scopes';
import { auditActor } from '@/server/auth/session';
import { listAttempts, resendEvent, sendTestEvent, startRecovery } from '@/server/webhooks/deliveries';
import { createEndpoint, deleteEndpoint, EndpointInput, EndpointPatch, listEndpoints, rotateSecret, updateEndpoint } from '@/server/webhooks/endpoints';
import { adminProcedure, sensitiveProcedure } from '../../admin';
import { router } from '../../init';

const id = z.uuid();

export const adminDevelopersRouter = router({
  keys: adminProcedure('keys:view').query(({ ctx }) => listApiKeys(ctx.db)),
  createKey: sensitiveProcedure('keys:manage')
    .input(
      z.object({ name: z.string().trim().min(1).max(100), scopes: z.array(ApiScopeSchema).min(1), expiresInDays: z.number().positive().max(3650).nullable() }),
    )
    .mutation(({ ctx, input }) =>
      createApiKey(ctx.db, auditActor(ctx.admin), {
        name: input.name,
        scopes: input.scopes,
        mode: ctx.deps.env.wechatpayMode,
        expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
      }),
    ),
  rollKey: sensitiveProcedure('keys:manage')
    .input(
      z.object({
        id,
        overlapHours: z
          .number()
          .min(0)
          .max(24 * 30)
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) => rollApiKey(ctx.db, auditActor(ctx.admin), input.id, input.overlapHours ?? ctx.deps.env.API_KEY_ROLL_OVERLAP_HOURS)),
  revokeKey: sensitiveProcedure('keys:manage')
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => revokeApiKey(ctx.db, auditActor(ctx.admin), input.id)),

  endpoints: adminProcedure('webhooks:view').query(({ ctx }) => listEndpoints(ctx.db)),
  createEndpoint: sensitiveProcedure('webhooks:manage')
    .input(EndpointInput)
    .mutation(({ ctx, input }) => createEndpoint(ctx.db, auditActor(ctx.admin), input, ctx.deps.env.wechatpayMode)),
  updateEndpoint: sensitiveProcedure('webhooks:manage')
    .input(z.object({ id, patch: EndpointPatch }))
    .mutation(({ ctx, input }) => updateEndpoint(ctx.db, auditActor(ctx.admin), input.id, input.patch, ctx.deps.env.wechatpayMode)),
  deleteEndpoint: sensitiveProcedure('webhooks:manage')
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => deleteEndpoint(ctx.db, auditActor(ctx.admin), input.id)),
  rotateSecret: sensitiveProcedure('webhooks:manage')
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => rotateSecret(ctx.db, auditActor(ctx.admin), input.id)),
  testEndpoint: adminProcedure('webhooks:manage')
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => sendTestEvent(ctx.deps, auditActor(ctx.admin), input.id)),
  recover: adminProcedure('webhooks:manage')
    .input(z.object({ id, since: z.date() }))
    .mutation(({ ctx, input }) => startRecovery(ctx.deps, auditActor(ctx.admin), input.id, input.since)),
  resend: adminProcedure('webhooks:manage')
    .input(z.object({ eventId: z.string().regex(/^evt_\d+$/), endpointId: id.optional() }))
    .mutation(({ ctx, input }) => resendEvent(ctx.deps, auditActor(ctx.admin), input.eventId, input.endpointId)),
  attempts: adminProcedure('webhooks:view')
    .input(z.object({ endpointId: id.optional(), orderId: id.optional(), limit: z.number().int().min(1).max(200).optional() }))
    .query(({ ctx, input }) => listAttempts(ctx.db, input)),
});
