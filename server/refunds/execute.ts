// The worker's side of a refund: the WeChat call, outside any transaction, with the row's stored
// out_refund_no (so a retry after a timeout, a crash or a 5xx is the same refund at WeChat), then WeChat's
// answer recorded by applyRefundStatus and, while PROCESSING, the next active query scheduled.
import { and, eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { alerts, paymentAttempts, refunds } from '@/db/schema';
import type { Gateway } from '@/server/wechatpay/gateway';
import { recordEvent } from '@/server/orders/state';
import { WechatPayApiError } from '@/server/wechatpay/errors';
import type { Refund } from '@/server/wechatpay/schemas';
import type { RefundDeps } from './request';
import type { RefundRow, RefundStatus } from './rules';
import { applyRefundStatus, scheduleNextQuery } from './status';

export interface ExecuteDeps extends RefundDeps {
  gateway: Gateway;
  notifyUrl: string;
}

const clip = (s: string) => s.slice(0, 500);

/**
 * One run of a refund's job: a `requested` refund is sent (create), a PROCESSING one (or an ABNORMAL one
 * being handled) is queried. Returns the status afterwards. Retryable failures (network, timeout, 5xx,
 * FREQUENCY_LIMITED) throw so pg-boss retries with backoff — with the same number, always.
 */
export async function executeRefund(db: Db, deps: ExecuteDeps, refundId: string): Promise<RefundStatus> {
  const [refund] = await db.select().from(refunds).where(eq(refunds.id, refundId));
  if (!refund) throw new Error(`refund ${refundId} not found`);
  const now = deps.clock.now();
  const queryable = refund.status === 'processing' || (refund.status === 'abnormal' && refund.abnormalResolution !== null);
  if (refund.status === 'requested') {
    // An early run (the sweep) of a refund whose spacing has not passed: its own scheduled job sends it.
    if (refund.sendAfter && refund.sendAfter.getTime() > now.getTime()) return refund.status;
    return send(db, deps, refund);
  }
  if (queryable) return query(db, deps, refund);
  return refund.status;
}

async function send(db: Db, deps: ExecuteDeps, refund: RefundRow): Promise<RefundStatus> {
  const [attempt] = await db.select().from(paymentAttempts).where(eq(paymentAttempts.id, refund.attemptId));
  if (!attempt) throw new Error(`attempt of refund ${refund.id} not found`);
  let answer: Refund;
  try {
    answer = await deps.gateway.client.createRefund({
      out_trade_no: attempt.outTradeNo,
      out_refund_no: refund.outRefundNo,
      reason: refund.reason,
      notify_url: deps.notifyUrl,
      amount: { refund: refund.amountFen, total: attempt.amountFen, currency: 'CNY' },
    });
  } catch (err) {
    if (err instanceof WechatPayApiError && !err.retryable) return refused(db, deps, refund, err);
    await noteError(db, refund.id, err);
    throw err;
  }
  return record(db, deps, refund, answer);
}

async function query(db: Db, deps: ExecuteDeps, refund: RefundRow): Promise<RefundStatus> {
  let answer: Refund;
  try {
    answer = await deps.gateway.client.queryRefund(refund.outRefundNo);
  } catch (err) {
    await noteError(db, refund.id, err);
    throw err;
  }
  return record(db, deps, refund, answer);
}

/** WeChat's answer (create or query) into the row; PROCESSING schedules the next query. */
async function record(db: Db, deps: ExecuteDeps, refund: RefundRow, answer: Refund): Promise<RefundStatus> {
  const now = deps.clock.now();
  return db.transaction(async (tx) => {
    await applyRefundStatus(tx, refund.outRefundNo, { status: answer.status, refundId: answer.refund_id }, 'query', now);
    const [row] = await tx.select().from(refunds).where(eq(refunds.id, refund.id)).for('update');
    if (!row) throw new Error(`refund ${refund.id} vanished`);
    const stillOpen = row.status === 'processing' || (row.status === 'abnormal' && row.abnormalResolution !== null);
    // Only the run of the current step moves the schedule on (a duplicate run finds the step taken).
    if (stillOpen && (refund.status === 'requested' || row.queryStep === refund.queryStep)) await scheduleNextQuery(tx, row, now, deps.env.REFUND_TIME_SCALE);
    return row.status;
  });
}

/**
 * WeChat refused the create call with a final error. A refusal of a number WeChat already holds (a retry
 * whose first try did land, answered "parameters differ") must not be mistaken for "no refund", so ask:
 * a refund WeChat knows is recorded as it is; one it does not know is `failed` (nothing moved).
 */
async function refused(db: Db, deps: ExecuteDeps, refund: RefundRow, err: WechatPayApiError): Promise<RefundStatus> {
  let known: Refund | null = null;
  try {
    known = await deps.gateway.client.queryRefund(refund.outRefundNo);
  } catch (qerr) {
    if (!(qerr instanceof WechatPayApiError) || qerr.code !== 'RESOURCE_NOT_EXISTS') {
      await noteError(db, refund.id, err);
      throw qerr;
    }
  }
  if (known) return record(db, deps, refund, known);
  const message = clip(`${err.code}: ${err.wechatMessage}`);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(refunds)
      .set({ status: 'failed', lastError: message, nextQueryAt: null, updatedAt: new Date() })
      .where(and(eq(refunds.id, refund.id), eq(refunds.status, 'requested')))
      .returning();
    if (!row) return refund.status;
    await recordEvent(tx, {
      orderId: row.orderId,
      attemptId: row.attemptId,
      type: 'refund.failed',
      source: 'system',
      data: { refundRowId: row.id, outRefundNo: row.outRefundNo, code: err.code, message: err.wechatMessage },
    });
    await tx.insert(alerts).values({
      kind: 'refund_failed',
      orderId: row.orderId,
      message: `WeChat refused refund ${row.outRefundNo}: ${message}`,
      data: { outRefundNo: row.outRefundNo, refundRowId: row.id, code: err.code },
    });
    return row.status;
  });
}

async function noteError(db: Db, refundId: string, err: unknown): Promise<void> {
  const message = err instanceof WechatPayApiError ? `${err.code}: ${err.wechatMessage}` : err instanceof Error ? err.message : 'error';
  await db
    .update(refunds)
    .set({ lastError: clip(message) })
    .where(eq(refunds.id, refundId));
}
