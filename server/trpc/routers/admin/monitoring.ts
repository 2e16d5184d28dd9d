// Dashboard, alerts and the queue monitor: thin procedures over server/stats and server/monitoring.
import { z } from 'zod';
import { auditActor } from '@/server/auth/session';
import { acknowledgeAlert, alertHistoryOf, recentAlerts, resolveAlert } from '@/server/monitoring/alerts';
import { workSettingsOf } from '@/server/jobs/registry';
import { DeadLetterIds, discardDeadLetters, listDeadLetters, queueOverview, retryDeadLetters } from '@/server/monitoring/queues';
import { getThresholds, setThresholds, Thresholds } from '@/server/monitoring/settings';
import { reconciliationStatus } from '@/server/reconciliation/status';
import { DashboardRange, dashboardStats } from '@/server/stats/dashboard';
import { deliveryHealth } from '@/server/webhooks/health';
import { adminProcedure, sensitiveProcedure } from '../../admin';
import { router } from '../../init';

const note = z.string().trim().max(500).optional();
const alertId = z.object({ id: z.number().int().positive(), note });

export const adminStatsRouter = router({
  dashboard: adminProcedure('orders:view')
    .input(DashboardRange)
    .query(({ ctx, input }) => dashboardStats(ctx.db, input)),
  // Each card of the dashboard beyond the sales figures needs its area's own permission.
  deliveryHealth: adminProcedure('webhooks:view').query(({ ctx }) => deliveryHealth(ctx.db)),
  reconciliationStatus: adminProcedure('reconciliation:view').query(({ ctx }) => reconciliationStatus(ctx.db, { days: 7 })),
});

export const adminAlertsRouter = router({
  list: adminProcedure('alerts:view').query(({ ctx }) => recentAlerts(ctx.db, 200)),
  history: adminProcedure('alerts:view')
    .input(z.object({ id: z.number().int().positive() }))
    .query(({ ctx, input }) => alertHistoryOf(ctx.db, input.id)),
  acknowledge: adminProcedure('alerts:manage')
    .input(alertId)
    .mutation(({ ctx, input }) => acknowledgeAlert(ctx.db, auditActor(ctx.admin), input.id, input.note ?? null)),
  resolve: adminProcedure('alerts:manage')
    .input(alertId)
    .mutation(({ ctx, input }) => resolveAlert(ctx.db, auditActor(ctx.admin), input.id, input.note ?? null)),
  thresholds: adminProcedure('alerts:view').query(({ ctx }) => getThresholds(ctx.db)),
  setThresholds: sensitiveProcedure('queues:manage')
    .input(z.object({ thresholds: Thresholds, reason: note }))
    .mutation(({ ctx, input }) => setThresholds(ctx.db, auditActor(ctx.admin), input.thresholds, input.reason ?? null)),
});

export const adminQueuesRouter = router({
  overview: adminProcedure('queues:view').query(({ ctx }) => queueOverview(ctx.db, workSettingsOf)),
  deadLetters: adminProcedure('queues:view').query(({ ctx }) => listDeadLetters(ctx.db)),
  retry: adminProcedure('queues:manage')
    .input(z.object({ ids: DeadLetterIds, reason: note }))
    .mutation(({ ctx, input }) => retryDeadLetters(ctx.db, auditActor(ctx.admin), input.ids, input.reason ?? null)),
  discard: adminProcedure('queues:manage')
    .input(z.object({ ids: DeadLetterIds, reason: z.string().trim().min(3).max(500) }))
    .mutation(({ ctx, input }) => discardDeadLetters(ctx.db, auditActor(ctx.admin), input.ids, input.reason)),
});
