// Asking for a refund: every rule checked under the order's row lock (so two refunds of one order are
// serialised and cannot both fit in the refundable amount), the row with its out_refund_no and the job that
// will call WeChat written in one transaction, nothing sent before. Above the approval threshold the row
// waits in pending_approval for a second person (maker-checker) and has no job until approved.
import { randomBytes } from 'node:crypto';
import { and, desc, eq, gte, inArray, isNotNull, isNull, notInArray, sql } from 'drizzle-orm';
import type { Db, DbOrTx, Tx } from '@/db/client';
import { orders, paymentAttempts, refunds } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { refundLimitsFor } from '@/server/auth/limits';
import { canApproveRefunds, can, ROLES, type Role } from '@/server/auth/permissions';
import type { AppEnv } from '@/server/env';
import type { Clock } from '@/server/clock';
import { recordEvent } from '@/server/orders/state';
import { enqueue } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { QUEUE } from '@/server/queue/catalogue';
import { RefundError } from './errors';
import { beijingDayStart, checkWechatRules, COMMITTED, NOT_SENT, normaliseReason, paymentFigures, type PaymentFigures, type RefundRow } from './rules';
import { spacingMs } from './schedule';

export type RefundInitiator = 'merchant' | 'api' | 'system';

/** What the refund domain needs from the process: settings and the clock. */
export interface RefundDeps {
  env: Pick<AppEnv, 'REFUND_TIME_SCALE' | 'REFUND_APPROVAL_THRESHOLD_FEN' | 'REFUND_STEP_UP_THRESHOLD_FEN'>;
  clock: Clock;
}

export interface RequestRefundInput {
  orderId: string;
  amountFen: number;
  /** 1–80 characters; WeChat shows it to the payer (except on partial refunds of ¥1 or less). */
  reason: string;
  /**
   * Who asks. `actor.role`, when it names a console role, applies that role's permission and money limits
   * (single refund, Beijing-day total per user); null (an API key without a role) applies none — the API's
   * own scopes are the gate then. `actor.twoFactorFresh` is the step-up proof for large refunds (console).
   */
  actor: AuditActor;
  initiatedBy: RefundInitiator;
  /**
   * A repeated call with the same key returns the first call's refund (and creates nothing), whatever its
   * state; the same key with another order, amount or reason is IDEMPOTENCY_KEY_REUSED. Keys are global:
   * prefix them with their scope (`api:<keyId>:<key>`, `console:<uuid>`).
   */
  idempotencyKey?: string;
}

export interface RequestRefundResult {
  refund: RefundRow;
  /** False when an earlier call with the same idempotency key made it. */
  created: boolean;
}

/** `RF` + 10 base36 time characters + 12 random hex: unique, sortable, within WeChat's 64 [A-Za-z0-9_-|*@]. */
export function newOutRefundNo(now: Date): string {
  return `RF${now.getTime().toString(36).toUpperCase().padStart(10, '0')}${randomBytes(6).toString('hex').toUpperCase()}`;
}

/** `LR` + the attempt's out_trade_no: stable, unique per attempt (one late payment, one refund). */
export function latePaymentRefundNo(outTradeNo: string): string {
  return `LR${outTradeNo}`;
}

const isRole = (r: string | null): r is Role => r !== null && (ROLES as readonly string[]).includes(r);

async function lockOrder(tx: Tx, orderId: string) {
  const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update');
  if (!order) throw new RefundError('ORDER_NOT_FOUND', 'No such order.');
  return order;
}

/** The payment of an order that merchant refunds give back: its paid, non-late attempt. */
async function paidAttemptOf(tx: Tx, order: typeof orders.$inferSelect) {
  const [attempt] = await tx
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.orderId, order.id), eq(paymentAttempts.status, 'paid'), isNull(paymentAttempts.latePayment)))
    .orderBy(paymentAttempts.paidAt)
    .limit(1);
  return attempt ?? null;
}

/** The figures of the order's payment as the refund dialog shows them (null: nothing to refund). */
export async function paymentFiguresOf(tx: DbOrTx, orderId: string, now: Date): Promise<(PaymentFigures & { attemptId: string }) | null> {
  const [attempt] = await tx
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.orderId, orderId), eq(paymentAttempts.status, 'paid'), isNull(paymentAttempts.latePayment)))
    .limit(1);
  if (!attempt?.paidAt) return null;
  const rows = await tx.select({ status: refunds.status, amountFen: refunds.amountFen }).from(refunds).where(eq(refunds.attemptId, attempt.id));
  return { ...paymentFigures(attempt.amountFen, attempt.paidAt, rows, now), attemptId: attempt.id };
}

async function checkLimits(tx: Tx, actor: AuditActor, amountFen: number, now: Date): Promise<void> {
  if (!isRole(actor.role)) return;
  if (!can(actor.role, 'refunds:manage')) throw new RefundError('ROLE_MAY_NOT_REFUND', 'Your role may not refund.');
  const limits = await refundLimitsFor(tx, actor.role);
  if (limits.singleRefundMaxFen === 0 || limits.dailyRefundMaxFen === 0) throw new RefundError('ROLE_MAY_NOT_REFUND', 'Your role may not refund.');
  if (limits.singleRefundMaxFen !== null && amountFen > limits.singleRefundMaxFen) {
    throw new RefundError('SINGLE_LIMIT_EXCEEDED', `Your role may refund at most ${(limits.singleRefundMaxFen / 100).toFixed(2)} yuan at once.`);
  }
  if (limits.dailyRefundMaxFen !== null && actor.id) {
    const [today] = await tx
      .select({ fen: sql<number>`coalesce(sum(${refunds.amountFen}), 0)::int` })
      .from(refunds)
      .where(and(eq(refunds.requestedById, actor.id), gte(refunds.createdAt, beijingDayStart(now)), inArray(refunds.status, [...COMMITTED])));
    const used = today?.fen ?? 0;
    if (used + amountFen > limits.dailyRefundMaxFen) {
      throw new RefundError(
        'DAILY_LIMIT_EXCEEDED',
        `Your role may refund at most ${(limits.dailyRefundMaxFen / 100).toFixed(2)} yuan a day; you have ${((limits.dailyRefundMaxFen - used) / 100).toFixed(2)} left today.`,
      );
    }
  }
}

/**
 * When a refund of `attemptId` may go to WeChat: now, or 61 s (scaled) after the latest refund of that WeChat
 * order that was or will be sent. The job starts then; nobody sleeps.
 */
async function sendTime(tx: Tx, attemptId: string, now: Date, scale: number, excludeId?: string): Promise<Date> {
  const [last] = await tx
    .select({ at: sql<Date | null>`max(coalesce(${refunds.acceptedAt}, ${refunds.sendAfter}))` })
    .from(refunds)
    .where(
      and(
        eq(refunds.attemptId, attemptId),
        isNotNull(refunds.sendAfter),
        notInArray(refunds.status, [...NOT_SENT]),
        excludeId ? sql`${refunds.id} <> ${excludeId}` : undefined,
      ),
    );
  const lastAt = last?.at ? new Date(last.at) : null;
  if (!lastAt) return now;
  const earliest = new Date(lastAt.getTime() + spacingMs(scale));
  return earliest > now ? earliest : now;
}

/** Schedules the WeChat call of a row that may now be sent (in the caller's transaction). */
async function scheduleSend(tx: Tx, row: RefundRow, now: Date, scale: number): Promise<RefundRow> {
  const at = await sendTime(tx, row.attemptId, now, scale, row.id);
  const [updated] = await tx.update(refunds).set({ status: 'requested', sendAfter: at, updatedAt: now }).where(eq(refunds.id, row.id)).returning();
  await enqueue(tx, QUEUE.executeRefund, { version: 1, refundId: row.id }, { id: causeId('refund', row.outRefundNo), startAfter: at });
  return updated!;
}

interface NewRefund {
  orderId: string;
  attemptId: string;
  outRefundNo: string;
  amountFen: number;
  reason: string;
  kind: 'merchant' | 'late_payment';
  initiatedBy: RefundInitiator;
  actor: AuditActor | null;
  idempotencyKey?: string | null;
  replacesRefundId?: string | null;
  needsApproval: boolean;
}

/** Inserts the row and, unless it waits for approval, its job; the order's lock is held by the caller. */
async function insertRefund(tx: Tx, deps: RefundDeps, r: NewRefund, now: Date): Promise<RefundRow | null> {
  const [row] = await tx
    .insert(refunds)
    .values({
      orderId: r.orderId,
      attemptId: r.attemptId,
      outRefundNo: r.outRefundNo,
      amountFen: r.amountFen,
      reason: r.reason,
      kind: r.kind,
      status: r.needsApproval ? 'pending_approval' : 'requested',
      initiatedBy: r.initiatedBy,
      requestedById: r.actor?.id ?? null,
      requestedByEmail: r.actor?.email ?? null,
      idempotencyKey: r.idempotencyKey ?? null,
      replacesRefundId: r.replacesRefundId ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) return null;
  await recordEvent(tx, {
    orderId: r.orderId,
    attemptId: r.attemptId,
    type: r.needsApproval ? 'refund.pending_approval' : 'refund.requested',
    source: r.initiatedBy === 'system' ? 'system' : 'admin',
    data: {
      refundRowId: row.id,
      outRefundNo: r.outRefundNo,
      amountFen: r.amountFen,
      initiatedBy: r.initiatedBy,
      by: r.actor?.email ?? null,
      replaces: r.replacesRefundId ?? null,
    },
  });
  return r.needsApproval ? row : scheduleSend(tx, row, now, deps.env.REFUND_TIME_SCALE);
}

/**
 * Asks for a refund of part or all of an order's payment. The one entry of console (initiatedBy 'merchant')
 * and REST API ('api') refunds. Throws RefundError (its `rule` says which) for anything WeChat or our limits
 * would refuse; the answer's refund is `requested` (its job scheduled ≥ 61 s after the previous refund of
 * the order) or `pending_approval` (REFUND_APPROVAL_THRESHOLD_FEN or more, for merchant and API refunds).
 */
export async function requestRefund(db: Db, deps: RefundDeps, input: RequestRefundInput): Promise<RequestRefundResult> {
  const now = deps.clock.now();
  return db.transaction(async (tx) => {
    const order = await lockOrder(tx, input.orderId);
    if (input.idempotencyKey) {
      const [existing] = await tx.select().from(refunds).where(eq(refunds.idempotencyKey, input.idempotencyKey));
      if (existing) {
        if (existing.orderId !== input.orderId || existing.amountFen !== input.amountFen || existing.reason !== input.reason.trim()) {
          throw new RefundError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used for another refund.');
        }
        return { refund: existing, created: false };
      }
    }
    const reason = normaliseReason(input.reason);
    if (order.status !== 'paid' && order.status !== 'partially_refunded') {
      throw new RefundError(
        'ORDER_NOT_REFUNDABLE',
        order.status === 'refunded' ? 'This order is already fully refunded.' : `An order that is ${order.status} cannot be refunded.`,
      );
    }
    const attempt = await paidAttemptOf(tx, order);
    if (!attempt?.paidAt) throw new RefundError('ORDER_NOT_REFUNDABLE', 'This order has no payment to refund.');
    const rows = await tx.select({ status: refunds.status, amountFen: refunds.amountFen }).from(refunds).where(eq(refunds.attemptId, attempt.id));
    checkWechatRules(paymentFigures(attempt.amountFen, attempt.paidAt, rows, now), input.amountFen, now);
    if (input.initiatedBy !== 'system') await checkLimits(tx, input.actor, input.amountFen, now);
    if (input.initiatedBy === 'merchant' && input.amountFen >= deps.env.REFUND_STEP_UP_THRESHOLD_FEN && !input.actor.twoFactorFresh) {
      throw new RefundError('STEP_UP_REQUIRED', 'Confirm it is you (password or authenticator code) before a refund this large.');
    }
    const needsApproval = input.initiatedBy !== 'system' && input.amountFen >= deps.env.REFUND_APPROVAL_THRESHOLD_FEN;
    const row = await insertRefund(
      tx,
      deps,
      {
        orderId: order.id,
        attemptId: attempt.id,
        outRefundNo: newOutRefundNo(now),
        amountFen: input.amountFen,
        reason,
        kind: 'merchant',
        initiatedBy: input.initiatedBy,
        actor: input.actor,
        idempotencyKey: input.idempotencyKey ?? null,
        needsApproval,
      },
      now,
    );
    if (!row) throw new RefundError('IDEMPOTENCY_KEY_REUSED', 'A refund with this idempotency key is being made.');
    if (input.initiatedBy !== 'system') {
      await appendAudit(tx, input.actor, {
        action: needsApproval ? 'refund.request_approval' : 'refund.request',
        objectType: 'refund',
        objectId: row.id,
        after: { orderId: order.id, outRefundNo: row.outRefundNo, amountFen: row.amountFen, status: row.status, initiatedBy: input.initiatedBy },
        reason,
      });
    }
    return { refund: row, created: true };
  });
}

/**
 * Refund of a late or double payment (LATE_PAYMENT_POLICY=refund), in the transaction that discovered it:
 * the whole late attempt, initiated by the system, with a number derived from the attempt.
 */
export async function requestLatePaymentRefund(
  tx: Tx,
  args: { orderId: string; attempt: typeof paymentAttempts.$inferSelect; reason: string },
  now: Date = new Date(),
): Promise<void> {
  await lockOrder(tx, args.orderId);
  // One refund per late attempt (its own WeChat order): nothing to space it from, so the scale is moot.
  const deps: RefundDeps = {
    env: { REFUND_TIME_SCALE: 1, REFUND_APPROVAL_THRESHOLD_FEN: Number.MAX_SAFE_INTEGER, REFUND_STEP_UP_THRESHOLD_FEN: Number.MAX_SAFE_INTEGER },
    clock: { now: () => now },
  };
  await insertRefund(
    tx,
    deps,
    {
      orderId: args.orderId,
      attemptId: args.attempt.id,
      outRefundNo: latePaymentRefundNo(args.attempt.outTradeNo),
      amountFen: args.attempt.amountFen,
      reason: args.reason,
      kind: 'late_payment',
      initiatedBy: 'system',
      actor: null,
      needsApproval: false,
    },
    now,
  );
}

async function lockRefund(tx: Tx, refundId: string): Promise<RefundRow> {
  const [peek] = await tx.select({ orderId: refunds.orderId }).from(refunds).where(eq(refunds.id, refundId));
  if (!peek) throw new RefundError('REFUND_NOT_FOUND', 'No such refund.');
  await lockOrder(tx, peek.orderId);
  const [row] = await tx.select().from(refunds).where(eq(refunds.id, refundId));
  return row!;
}

/**
 * The checker's decision on a refund waiting for approval: a different user whose role approves refunds.
 * Approved, it is scheduled like any refund (spacing from the order's previous refunds); rejected, it
 * frees its amount. Both audited, both on the timeline.
 */
export async function decideRefund(
  db: Db,
  deps: RefundDeps,
  input: { refundId: string; actor: AuditActor; approve: boolean; note?: string | null },
): Promise<RefundRow> {
  const now = deps.clock.now();
  return db.transaction(async (tx) => {
    const row = await lockRefund(tx, input.refundId);
    if (row.status !== 'pending_approval') throw new RefundError('NOT_PENDING_APPROVAL', `This refund is ${row.status}, not waiting for approval.`);
    if (!isRole(input.actor.role) || !canApproveRefunds(input.actor.role)) throw new RefundError('MAY_NOT_APPROVE', 'Your role may not approve refunds.');
    if (input.actor.id === null || input.actor.id === row.requestedById)
      throw new RefundError('OWN_REFUND', 'A refund must be approved by someone other than the person who asked for it.');
    let decided: RefundRow;
    if (input.approve) {
      if (row.amountFen >= deps.env.REFUND_STEP_UP_THRESHOLD_FEN && !input.actor.twoFactorFresh) {
        throw new RefundError('STEP_UP_REQUIRED', 'Confirm it is you (password or authenticator code) before approving a refund this large.');
      }
      const [attempt] = await tx.select().from(paymentAttempts).where(eq(paymentAttempts.id, row.attemptId));
      if (attempt?.paidAt && now.getTime() - attempt.paidAt.getTime() > 365 * 86_400_000) {
        throw new RefundError('REFUND_WINDOW_PASSED', 'This payment is now more than a year old: WeChat Pay no longer refunds it. Reject the refund.');
      }
      await tx.update(refunds).set({ decidedById: input.actor.id, decidedByEmail: input.actor.email, decidedAt: now }).where(eq(refunds.id, row.id));
      decided = await scheduleSend(tx, { ...row, decidedById: input.actor.id }, now, deps.env.REFUND_TIME_SCALE);
    } else {
      [decided] = (await tx
        .update(refunds)
        .set({ status: 'rejected', decidedById: input.actor.id, decidedByEmail: input.actor.email, decidedAt: now, updatedAt: now })
        .where(eq(refunds.id, row.id))
        .returning()) as [RefundRow];
    }
    await recordEvent(tx, {
      orderId: row.orderId,
      attemptId: row.attemptId,
      type: input.approve ? 'refund.approved' : 'refund.rejected',
      source: 'admin',
      data: { refundRowId: row.id, outRefundNo: row.outRefundNo, amountFen: row.amountFen, by: input.actor.email, note: input.note ?? null },
    });
    await appendAudit(tx, input.actor, {
      action: input.approve ? 'refund.approve' : 'refund.reject',
      objectType: 'refund',
      objectId: row.id,
      before: { status: 'pending_approval', requestedBy: row.requestedByEmail },
      after: { status: decided.status, amountFen: row.amountFen, outRefundNo: row.outRefundNo },
      reason: input.note ?? null,
    });
    return decided;
  });
}

/**
 * A refund WeChat CLOSED (no balance for 7 days) is re-applied after topping up, with a NEW out_refund_no
 * (WeChat: the old number is finished). The new row links to the old; every rule applies again (the closed
 * refund's amount is refundable again, the closed one still counts towards the 50).
 */
export async function reapplyClosedRefund(
  db: Db,
  deps: RefundDeps,
  input: { refundId: string; actor: AuditActor; initiatedBy?: RefundInitiator },
): Promise<RefundRow> {
  const now = deps.clock.now();
  return db.transaction(async (tx) => {
    const old = await lockRefund(tx, input.refundId);
    if (old.status !== 'closed') throw new RefundError('NOT_CLOSED', `Only a CLOSED refund can be re-applied; this one is ${old.status}.`);
    const [again] = await tx.select({ id: refunds.id }).from(refunds).where(eq(refunds.replacesRefundId, old.id));
    if (again) throw new RefundError('ALREADY_REAPPLIED', 'This refund was already re-applied.');
    const [attempt] = await tx.select().from(paymentAttempts).where(eq(paymentAttempts.id, old.attemptId));
    const rows = await tx.select({ status: refunds.status, amountFen: refunds.amountFen }).from(refunds).where(eq(refunds.attemptId, old.attemptId));
    checkWechatRules(paymentFigures(attempt!.amountFen, attempt!.paidAt!, rows, now), old.amountFen, now);
    const initiatedBy = input.initiatedBy ?? (old.initiatedBy === 'system' ? 'system' : 'merchant');
    if (initiatedBy !== 'system') await checkLimits(tx, input.actor, old.amountFen, now);
    const row = await insertRefund(
      tx,
      deps,
      {
        orderId: old.orderId,
        attemptId: old.attemptId,
        outRefundNo: newOutRefundNo(now),
        amountFen: old.amountFen,
        reason: old.reason,
        kind: old.kind === 'late_payment' ? 'late_payment' : 'merchant',
        initiatedBy,
        actor: input.actor,
        replacesRefundId: old.id,
        // The amount was approved (or under the threshold) when first asked; re-applying it is not a new decision.
        needsApproval: false,
      },
      now,
    );
    await appendAudit(tx, input.actor, {
      action: 'refund.reapply',
      objectType: 'refund',
      objectId: row!.id,
      before: { refundRowId: old.id, outRefundNo: old.outRefundNo, status: 'closed' },
      after: { outRefundNo: row!.outRefundNo, amountFen: row!.amountFen },
    });
    return row!;
  });
}

/** The refunds of one order, newest first (the order page). */
export function refundsOfOrder(db: Db | Tx, orderId: string): Promise<RefundRow[]> {
  return db.select().from(refunds).where(eq(refunds.orderId, orderId)).orderBy(desc(refunds.createdAt));
}
