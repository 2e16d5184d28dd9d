// One order's whole story on one page: notifications (as WeChat sent them, and how we judged them),
// active queries and their answers, state transitions, job runs, refunds and admin actions, in time
// order with actor and source.
import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { auditLog, orderEvents, orderItems, orders, paymentAttempts, refunds, webhookAttempts, wechatpayNotifications } from '@/db/schema';
import { maskOpenid } from '@/server/auth/permissions';

export type TimelineKind = 'event' | 'notification' | 'job' | 'refund' | 'admin' | 'webhook';

export interface TimelineEntry {
  at: Date;
  kind: TimelineKind;
  /** e.g. `order.paid`, `notification TRANSACTION.SUCCESS`, `payment.query-attempt completed`. */
  title: string;
  /** notify | query | shopper | bill | admin | system | worker … */
  source: string;
  actor: string | null;
  detail: Record<string, unknown>;
}

export type QrState = 'live' | 'expired' | 'paid' | 'closed' | 'not_issued';

function qrState(a: { status: string; codeUrl: string | null; expiresAt: Date }, now: Date): QrState {
  if (a.status === 'paid') return 'paid';
  if (a.status === 'closed') return 'closed';
  if (!a.codeUrl) return 'not_issued';
  return a.expiresAt > now ? 'live' : 'expired';
}

function maskPayer(resource: unknown, fullPayerId: boolean): unknown {
  if (fullPayerId || !resource || typeof resource !== 'object') return resource;
  const r = resource as Record<string, unknown>;
  const payer = r.payer as Record<string, unknown> | undefined;
  if (!payer || typeof payer.openid !== 'string') return resource;
  return { ...r, payer: { ...payer, openid: maskOpenid(payer.openid) } };
}

export async function loadOrderDetail(db: DbOrTx, orderId: string, opts: { fullPayerId: boolean; now?: Date }) {
  const now = opts.now ?? new Date();
  const [order] = await db.select().from(orders).where(eq(orders.id, orderId));
  if (!order) return null;
  const [items, attempts, refundRows, events, audit] = await Promise.all([
    db.select().from(orderItems).where(eq(orderItems.orderId, orderId)).orderBy(asc(orderItems.id)),
    db.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, orderId)).orderBy(asc(paymentAttempts.createdAt)),
    db.select().from(refunds).where(eq(refunds.orderId, orderId)).orderBy(asc(refunds.createdAt)),
    db.select().from(orderEvents).where(eq(orderEvents.orderId, orderId)).orderBy(asc(orderEvents.id)),
    db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectType, 'order'), eq(auditLog.objectId, orderId)))
      .orderBy(asc(auditLog.id)),
  ]);
  const outTradeNos = attempts.map((a) => a.outTradeNo);
  const attemptIds = attempts.map((a) => a.id);
  const refundIds = refundRows.map((r) => r.id);
  const notifications = outTradeNos.length
    ? await db
        .select()
        .from(wechatpayNotifications)
        .where(inArray(sql`${wechatpayNotifications.resource}->>'out_trade_no'`, outTradeNos))
        .orderBy(asc(wechatpayNotifications.receivedAt))
    : [];
  // Job runs from pg-boss's own table (active queries, expiries, refunds, order close) for this order.
  const jobIds = [...attemptIds, ...refundIds, orderId];
  const jobs = (await db.execute(sql`
    select id, name, state, retry_count as "retryCount", created_on as "createdOn", started_on as "startedOn",
           completed_on as "completedOn", output, data
    from pgboss.job
    where coalesce(data->>'attemptId', data->>'refundId', data->>'orderId') in (${sql.join(
      jobIds.map((id) => sql`${id}`),
      sql`, `,
    )})
    order by created_on`)) as unknown as Array<{
    id: string;
    name: string;
    state: string;
    retryCount: number;
    createdOn: Date | string;
    startedOn: Date | string | null;
    completedOn: Date | string | null;
    output: unknown;
    data: unknown;
  }>;

  const timeline: TimelineEntry[] = [];
  for (const e of events) {
    timeline.push({ at: e.createdAt, kind: 'event', title: e.type, source: e.source, actor: null, detail: { attemptId: e.attemptId, ...(e.data as object) } });
  }
  for (const n of notifications) {
    timeline.push({
      at: n.receivedAt,
      kind: 'notification',
      title: n.eventType,
      source: 'notify',
      actor: 'WeChat Pay',
      detail: {
        notificationId: n.notificationId,
        // Stored only after the signature verified; refused ones are in wechatpay_notification_rejects.
        verification: `signature verified with ${n.serial}`,
        deliveries: n.deliveries,
        outcome: n.outcome,
        processedAt: n.processedAt,
        resource: maskPayer(n.resource, opts.fullPayerId),
      },
    });
  }
  for (const j of jobs) {
    const at = new Date(j.completedOn ?? j.startedOn ?? j.createdOn);
    timeline.push({
      at,
      kind: 'job',
      title: `${j.name} ${j.state}`,
      source: j.name === 'payment.query-attempt' ? 'query' : 'worker',
      actor: 'worker',
      detail: { jobId: j.id, queue: j.name, state: j.state, attempt: j.retryCount + 1, output: j.output, data: j.data },
    });
  }
  for (const r of refundRows) {
    timeline.push({
      at: r.createdAt,
      kind: 'refund',
      title: `refund ${r.status}`,
      source: r.kind,
      actor: null,
      detail: { outRefundNo: r.outRefundNo, refundId: r.refundId, amountFen: r.amountFen, reason: r.reason, lastError: r.lastError, updatedAt: r.updatedAt },
    });
  }
  for (const a of audit) {
    timeline.push({
      at: a.at,
      kind: 'admin',
      title: a.action,
      source: 'admin',
      actor: a.actorEmail,
      detail: { role: a.actorRole, reason: a.reason, after: a.after, twoFactorFresh: a.twoFactorFresh },
    });
  }
  // Every webhook attempt about the order (business systems told, or failing to be).
  const hooks = await db.select().from(webhookAttempts).where(eq(webhookAttempts.orderId, orderId)).orderBy(asc(webhookAttempts.id));
  for (const w of hooks) {
    timeline.push({
      at: w.createdAt,
      kind: 'webhook',
      title: `webhook ${w.messageId} #${w.attempt} ${w.outcome}`,
      source: 'worker',
      actor: null,
      detail: { url: w.url, status: w.responseStatus, latencyMs: w.latencyMs, error: w.error, response: w.responseBody },
    });
  }
  timeline.sort((x, y) => x.at.getTime() - y.at.getTime());

  return {
    order: { ...order, token: undefined, tokenTail: order.token.slice(-6), netFen: order.amountFen - order.refundedFen },
    items,
    attempts: attempts.map((a) => ({
      id: a.id,
      outTradeNo: a.outTradeNo,
      status: a.status,
      amountFen: a.amountFen,
      transactionId: a.transactionId,
      paidAt: a.paidAt,
      paidVia: a.paidVia,
      expiresAt: a.expiresAt,
      lastCheckedAt: a.lastCheckedAt,
      latePayment: a.latePayment,
      prepayError: a.prepayError,
      createdAt: a.createdAt,
      qr: qrState(a, now),
    })),
    // What the page shows of each refund; the idempotency key and approvers' ids stay on the server.
    refunds: refundRows.map((r) => ({
      id: r.id,
      outRefundNo: r.outRefundNo,
      refundId: r.refundId,
      amountFen: r.amountFen,
      reason: r.reason,
      kind: r.kind,
      status: r.status,
      initiatedBy: r.initiatedBy,
      createdAt: r.createdAt,
      succeededAt: r.succeededAt,
    })),
    timeline,
  };
}

export type OrderDetail = NonNullable<Awaited<ReturnType<typeof loadOrderDetail>>>;

/** The attempts an active query can still learn something about (open ones; else the newest). */
export async function attemptsToSync(db: DbOrTx, orderId: string): Promise<string[]> {
  const rows = await db
    .select({ id: paymentAttempts.id, status: paymentAttempts.status })
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.orderId, orderId), or(eq(paymentAttempts.status, 'created'), eq(paymentAttempts.status, 'awaiting_payment'))));
  return rows.map((r) => r.id);
}
