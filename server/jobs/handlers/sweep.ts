// maintenance.sweep (cron, one at a time): each domain re-enqueues whatever its happy path left behind and
// prunes its clutter; then what is past its retention (webhook attempts, API idempotency keys) goes in
// bounded batches, each outside the sweep's transaction so a backlog never holds one long lock.
import { pruneIdempotencyKeys } from '@/server/api/idempotency';
import { sweep } from '@/server/payments/sweep';
import { QUEUE } from '@/server/queue/catalogue';
import { sweepRefunds } from '@/server/refunds';
import { pruneWebhookAttempts } from '@/server/webhooks/retention';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.sweep,
  work: { batchSize: 1, pollingIntervalSeconds: 5 },
  run: async (_p, deps) => {
    const now = deps.clock.now();
    const payments = await sweep(deps.db, { now, renewWindowMs: deps.env.ORDER_RENEW_WINDOW_MINUTES * 60_000 });
    const refunds = await sweepRefunds(deps.db, { now });
    const prunedWebhookAttempts = await pruneWebhookAttempts(deps.db, { now, retentionDays: deps.env.WEBHOOK_ATTEMPT_RETENTION_DAYS });
    const prunedIdempotencyKeys = await pruneIdempotencyKeys(deps.db, { now, retentionHours: deps.env.API_IDEMPOTENCY_RETENTION_HOURS });
    return { ...payments, refunds, prunedWebhookAttempts, prunedIdempotencyKeys };
  },
});
