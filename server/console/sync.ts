// "Sync now": an active query of the order's open attempts, exactly as the worker's scheduled query does
// (checkAttempt), recorded in the audit log with its answer so the timeline shows who asked and what came back.
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { checkAttempt } from '@/server/payments/compensation';
import { paymentContext } from '@/server/payments/context';
import type { PaymentDeps } from '@/server/payments/deps';
import { attemptsToSync } from './order-detail';

export async function syncOrder(deps: PaymentDeps, actor: AuditActor, orderId: string): Promise<{ results: Array<{ attemptId: string; outcome: string }> }> {
  const { db } = deps;
  const ids = await attemptsToSync(db, orderId);
  const results: Array<{ attemptId: string; outcome: string }> = [];
  for (const attemptId of ids) {
    let outcome: string;
    try {
      outcome = String(await checkAttempt(db, deps.gateway(), attemptId, paymentContext(deps, 'query')));
    } catch (err) {
      outcome = `error: ${err instanceof Error ? err.message : String(err)}`;
    }
    results.push({ attemptId, outcome });
  }
  await appendAudit(db, actor, { action: 'order.sync', objectType: 'order', objectId: orderId, after: { results } });
  return { results };
}
