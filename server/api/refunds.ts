// The Payments API's refund operations: thin over the refund domain (server/refunds), which checks every
// WeChat rule under the order's lock and owns every refund transition.
import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { refunds } from '@/db/schema';
import type { AuthenticatedKey } from '@/server/api-keys/keys';
import type { AuditActor } from '@/server/auth/audit';
import type { AppDeps } from '@/server/deps';
import { RefundError, requestRefund, type RefundRow } from '@/server/refunds';
import { ApiError, toApiError } from './errors';
import type { CreateRefundBody, Refund } from './schemas';

export type ApiRefund = z.infer<typeof Refund>;

/** WeChat shows the payer a reason; a business system that gives none gets a neutral one. */
const DEFAULT_REASON = '商户退款';

export function apiRefund(r: RefundRow): ApiRefund {
  return {
    id: r.id,
    orderId: r.orderId,
    status: r.status,
    amountFen: r.amountFen,
    reason: r.reason,
    outRefundNo: r.outRefundNo,
    refundId: r.refundId,
    initiatedBy: r.initiatedBy,
    createdAt: r.createdAt.toISOString(),
    succeededAt: r.succeededAt?.toISOString() ?? null,
  };
}

/**
 * Requests a refund. The request's Idempotency-Key (scoped to the API key) also keys the refund itself, so
 * a retried call after a lost answer is the same refund even once the replay window has passed.
 */
export async function createApiRefund(
  deps: AppDeps,
  ctx: { key: AuthenticatedKey; actor: AuditActor; idempotencyKey: string | null },
  orderId: string,
  body: z.infer<typeof CreateRefundBody>,
): Promise<ApiRefund> {
  try {
    const { refund } = await requestRefund(deps.db, deps, {
      orderId,
      amountFen: body.amountFen,
      reason: body.reason ?? DEFAULT_REASON,
      actor: ctx.actor,
      initiatedBy: 'api',
      idempotencyKey: ctx.idempotencyKey ? `api:${ctx.key.id}:${ctx.idempotencyKey}` : undefined,
    });
    return apiRefund(refund);
  } catch (err) {
    // The rule that refused it travels as details.rule, for a business system to branch on.
    if (err instanceof RefundError) throw new ApiError(toApiError(err).code, err.message, { rule: err.rule });
    throw err;
  }
}

export async function getApiRefund(deps: AppDeps, id: string): Promise<ApiRefund> {
  const [row] = await deps.db.select().from(refunds).where(eq(refunds.id, id));
  if (!row) throw new ApiError('not_found', 'No such refund.');
  return apiRefund(row);
}
