// The simulator's own dev/test endpoints under /_sim/. Not part of WeChat's surface: unsigned plain JSON,
// errors as {code, message}. They hand out private keys, which is why the server binds to 127.0.0.1 by default.
// Documented in docs/wechatpay.md ("Driving the simulator").
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { SimContext } from './context';
import { errors, SimApiError } from './errors';
import { FaultsInput } from './faults';
import { bodyError, readRawBody, sendJson } from './http';
import { beijingDate, billReadyAt, dayTruth } from './bills';
import { beijingTime } from './ids';
import * as orders from './orders';
import * as refunds from './refunds';
import * as store from './store';
import type { NotificationAttemptRow, NotificationRow, RefundRow } from './store';

const payOptions = {
  /** SUCCESS (default) pays; INSUFFICIENT_BALANCE is the shopper's 余额不足: refused, nothing changes. */
  outcome: z.enum(['SUCCESS', 'INSUFFICIENT_BALANCE']).optional(),
  /** Pay even a CLOSED order: reproduces a late payment. */
  allowClosed: z.boolean().optional(),
  /** Part paid with a non-recharge coupon (fen): the bill's 代金券金额, 应结订单金额 = total − coupon. */
  coupon_fen: z.int().min(0).optional(),
};
const isoTime = z.iso.datetime({ offset: true });
const fen = z.int().min(1).max(2_147_483_647);
const clockSchema = z.union([
  z.strictObject({
    advanceMs: z
      .int()
      .min(0)
      .max(400 * 24 * 3600 * 1000),
  }),
  z.strictObject({ to: isoTime }),
  // Back to wall time (or any offset, backwards included): only for resetting between test files.
  z.strictObject({ offsetMs: z.int(), allowBackwards: z.literal(true) }),
]);
const refundPlanSchema = z.strictObject({
  status: z.enum(['SUCCESS', 'PROCESSING', 'CLOSED', 'ABNORMAL']),
  /** Simulated ms in PROCESSING before `status`; default the simulator's processing time. Ignored for PROCESSING. */
  afterMs: z
    .int()
    .min(0)
    .max(400 * 24 * 3600 * 1000)
    .optional(),
});
const outTradeNo = z.string().regex(/^[0-9A-Za-z_\-|*]{6,32}$/, 'out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]');
const anomalySchema = z.discriminatedUnion('kind', [
  /** A paid trade on our mchid that the app never created (bill paid / local order missing). */
  z.strictObject({
    kind: z.literal('unknown_trade'),
    out_trade_no: outTradeNo.optional(),
    amount_fen: fen,
    at: isoTime.optional(),
    description: z.string().min(1).max(127).optional(),
  }),
  /** One of the app's orders paid with no notification, shown unpaid to queries until hidden_until (bill paid / local unpaid). */
  z.strictObject({ kind: z.literal('unheard_payment'), out_trade_no: outTradeNo, at: isoTime.optional(), hidden_until: isoTime.optional() }),
  /** A refund made in the merchant platform: SUCCESS, no notification (refund in the bill, not ours). */
  z.strictObject({
    kind: z.literal('external_refund'),
    out_trade_no: outTradeNo,
    amount_fen: fen,
    out_refund_no: z
      .string()
      .regex(/^[0-9A-Za-z_\-|*@]{1,64}$/)
      .optional(),
    at: isoTime.optional(),
  }),
  /** The trade bill shows another 订单金额 (and 应结订单金额) for this payment than was paid. */
  z.strictObject({ kind: z.literal('amount_difference'), out_trade_no: outTradeNo, bill_amount_fen: fen }),
  /** The trade bill leaves this paid trade out (the fund flow still has it). */
  z.strictObject({ kind: z.literal('missing_row'), out_trade_no: outTradeNo }),
  /** WeChat charged another fee for this payment than the configured rate gives (both bills show it). */
  z.strictObject({ kind: z.literal('fee_difference'), out_trade_no: outTradeNo, fee_fen: z.int().min(0) }),
]);
const paySchema = z.union([
  z.strictObject({ code_url: z.string().min(1), ...payOptions }),
  // By out_trade_no: a closed order's code_url may be long superseded, yet late payments must be reproducible.
  z.strictObject({ out_trade_no: z.string().min(1), ...payOptions }),
]);
const refundOutcomeSchema = z.strictObject({ status: z.enum(['SUCCESS', 'ABNORMAL', 'CLOSED']) });
const backdateSchema = z.strictObject({ days: z.number().positive().max(400) });

function isoOrNull(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readRawBody(req, 64 * 1024);
  } catch (err) {
    throw bodyError(err) ?? err;
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw errors.param('body is not valid JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw errors.param('invalid body');
  throw errors.param(`invalid body: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
}

function decodeParam(segment: string, notFound: () => SimApiError): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw notFound();
  }
}

function notificationJson(n: NotificationRow) {
  return {
    id: n.id,
    event_type: n.event_type,
    out_trade_no: n.out_trade_no,
    out_refund_no: n.out_refund_no,
    notify_url: n.notify_url,
    status: n.status,
    attempts: n.attempts,
    next_attempt_at: isoOrNull(n.next_attempt_at),
    last_attempt_at: isoOrNull(n.last_attempt_at),
    last_status: n.last_status,
    last_error: n.last_error,
    delivered_at: isoOrNull(n.delivered_at),
    created_at: isoOrNull(n.created_at),
  };
}

function attemptJson(a: NotificationAttemptRow) {
  return {
    notification_id: a.notification_id,
    event_type: a.event_type,
    out_trade_no: a.out_trade_no,
    out_refund_no: a.out_refund_no,
    number: a.number,
    at: a.at.toISOString(),
    http_status: a.http_status,
    latency_ms: a.latency_ms,
    error: a.error,
    dropped: a.dropped,
    probe: a.probe,
    duplicate: a.duplicate,
    delayed_ms: a.delayed_ms,
    serial: a.serial,
  };
}

function refundRecordJson(r: RefundRow) {
  return {
    ...refunds.refundJson(r),
    notify_url: r.notify_url,
    reason: r.reason,
    settle_at: isoOrNull(r.settle_at),
    planned_status: r.planned_status,
    fee_refund_fen: r.fee_refund_fen,
    create_requests: r.create_requests,
    abnormal_apply: r.abnormal_apply,
    external: r.external,
  };
}

function clockJson(ctx: SimContext) {
  const now = new Date(ctx.clock.now());
  return { now: now.toISOString(), beijing: beijingTime(now), offset_ms: ctx.clock.offsetMs() };
}

function planJson(p: store.RefundPlanRow) {
  return { target: p.target === '*' ? 'default' : p.target, status: p.status, afterMs: p.after_ms, updated_at: p.updated_at.toISOString() };
}

export async function handleControl(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const { pathname } = url;
    const method = req.method ?? 'GET';
    const mchid = ctx.credentials.mchid;

    if (pathname === '/_sim/health' && method === 'GET') return sendJson(res, 200, { ok: true });
    if (pathname === '/_sim/credentials' && method === 'GET') return sendJson(res, 200, ctx.credentials);

    if (pathname === '/_sim/faults') {
      if (method === 'GET') return sendJson(res, 200, await ctx.faults.get());
      if (method === 'PUT') {
        // A PUT replaces the whole set: {} clears every fault.
        const faults = await ctx.faults.replace(parse(FaultsInput, await readJson(req)));
        ctx.log(`faults set: ${JSON.stringify(faults)}`);
        return sendJson(res, 200, faults);
      }
    }

    await ctx.clock.refresh();
    if (pathname === '/_sim/clock') {
      if (method === 'GET') return sendJson(res, 200, clockJson(ctx));
      if (method === 'POST') {
        const body = parse(clockSchema, await readJson(req));
        if ('advanceMs' in body) await ctx.clock.advance(body.advanceMs);
        else if ('to' in body) {
          const target = Date.parse(body.to);
          if (target < ctx.clock.now()) throw errors.param('the simulated clock never runs backwards');
          await ctx.clock.set(target - Date.now());
        } else await ctx.clock.set(body.offsetMs, true);
        ctx.log(`clock: simulated time is now ${beijingTime(new Date(ctx.clock.now()))}`);
        // Refunds and notifications that just fell due go out now.
        ctx.notifier.wake();
        return sendJson(res, 200, clockJson(ctx));
      }
    }

    if (pathname === '/_sim/refunds' && method === 'GET') {
      const outTradeNo = url.searchParams.get('out_trade_no');
      const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 10_000) || 10_000, 1), 100_000);
      const list = await store.listRefunds(ctx.sql, mchid, outTradeNo, limit);
      return sendJson(res, 200, { refunds: list.map(refundRecordJson) });
    }

    if (pathname === '/_sim/refund-plans') {
      if (method === 'GET') return sendJson(res, 200, { plans: (await store.listRefundPlans(ctx.sql, mchid)).map(planJson) });
      if (method === 'DELETE') return sendJson(res, 200, { deleted: await store.deleteRefundPlan(ctx.sql, mchid, null) });
    }
    const planMatch = /^\/_sim\/refund-plans\/([^/]+)$/.exec(pathname);
    if (planMatch) {
      const raw = decodeParam(planMatch[1]!, errors.notFound);
      // `default` is the plan of every refund without one of its own ('*' in the table).
      const target = raw === 'default' ? '*' : raw;
      if (method === 'PUT') {
        const body = parse(refundPlanSchema, await readJson(req));
        const plan = await store.putRefundPlan(ctx.sql, { mchid, target, status: body.status, after_ms: body.afterMs ?? null }, new Date(ctx.clock.now()));
        return sendJson(res, 200, planJson(plan));
      }
      if (method === 'DELETE') return sendJson(res, 200, { deleted: await store.deleteRefundPlan(ctx.sql, mchid, target) });
    }

    const truthMatch = /^\/_sim\/bills\/(\d{4}-\d{2}-\d{2})\/truth$/.exec(pathname);
    if (truthMatch && method === 'GET') return sendJson(res, 200, await dayTruth(ctx, mchid, truthMatch[1]!));

    if (pathname === '/_sim/bills/anomalies' && method === 'POST') {
      return sendJson(res, 200, await injectAnomaly(ctx, parse(anomalySchema, await readJson(req))));
    }

    if (pathname === '/_sim/pay' && method === 'POST') {
      const body = parse(paySchema, await readJson(req));
      const target = 'code_url' in body ? { codeUrl: body.code_url } : { outTradeNo: body.out_trade_no };
      const order = await orders.pay(ctx, target, { allowClosed: body.allowClosed, outcome: body.outcome, couponFen: body.coupon_fen });
      ctx.notifier.wake();
      return sendJson(res, 200, {
        out_trade_no: order.out_trade_no,
        transaction_id: order.transaction_id,
        trade_state: order.trade_state,
        outcome: body.outcome ?? 'SUCCESS',
      });
    }

    if (pathname === '/_sim/notifications' && method === 'GET') {
      const outTradeNo = url.searchParams.get('out_trade_no');
      const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 10_000) || 10_000, 1), 100_000);
      // One snapshot: a notification read as delivered comes with the attempt that delivered it.
      const [notifications, attempts] = await ctx.sql.begin('isolation level repeatable read read only', async (tx) => [
        await store.listNotifications(tx, mchid, outTradeNo, limit),
        await store.listAttempts(tx, mchid, outTradeNo, limit),
      ]);
      return sendJson(res, 200, { notifications: notifications.map(notificationJson), attempts: attempts.map(attemptJson) });
    }

    const refundMatch = /^\/_sim\/refunds\/([^/]+)(\/outcome)?$/.exec(pathname);
    if (refundMatch) {
      const outRefundNo = decodeParam(refundMatch[1]!, errors.refundNotExist);
      if (refundMatch[2] && method === 'POST') {
        const { status } = parse(refundOutcomeSchema, await readJson(req));
        const refund = await refunds.setRefundOutcome(ctx, mchid, outRefundNo, status);
        ctx.notifier.wake();
        return sendJson(res, 200, refundRecordJson(refund));
      }
      if (!refundMatch[2] && method === 'GET') {
        const refund = await store.findRefund(ctx.sql, mchid, outRefundNo);
        if (!refund) throw errors.refundNotExist();
        return sendJson(res, 200, refundRecordJson(refund));
      }
    }

    const orderMatch = /^\/_sim\/orders\/([^/]+)(\/backdate)?$/.exec(pathname);
    if (orderMatch) {
      const outTradeNo = decodeParam(orderMatch[1]!, errors.orderNotExist);
      if (orderMatch[2] && method === 'POST') {
        // Bills cover past days only: this moves an order's whole history (and its refunds') into the past.
        const { days } = parse(backdateSchema, await readJson(req));
        if (!(await store.backdateOrder(ctx.sql, mchid, outTradeNo, days * 24 * 3600 * 1000))) throw errors.orderNotExist();
        return sendJson(res, 200, { out_trade_no: outTradeNo, backdated_days: days });
      }
      if (!orderMatch[2] && method === 'GET') {
        const order = await orders.findOrder(ctx, mchid, outTradeNo);
        if (!order) throw errors.orderNotExist();
        const [notifications, orderRefunds] = await Promise.all([
          store.listNotifications(ctx.sql, order.mchid, order.out_trade_no),
          store.refundsOfOrder(ctx.sql, order.mchid, order.out_trade_no),
        ]);
        return sendJson(res, 200, {
          ...order,
          time_expire: isoOrNull(order.time_expire),
          code_url_issued_at: isoOrNull(order.code_url_issued_at),
          success_time: isoOrNull(order.success_time),
          closed_at: isoOrNull(order.closed_at),
          created_at: isoOrNull(order.created_at),
          updated_at: isoOrNull(order.updated_at),
          transaction: orders.transactionJson(order),
          refunds: orderRefunds.map(refundRecordJson),
          notifications: notifications.map(notificationJson),
        });
      }
    }
    throw errors.notFound();
  } catch (err) {
    if (err instanceof SimApiError) {
      sendJson(res, err.status, { code: err.code, message: err.message });
      return;
    }
    ctx.log(`control: ${req.method} ${req.url?.split('?')[0]} failed: ${(err as Error).message}`);
    sendJson(res, 500, { code: 'SYSTEM_ERROR', message: 'simulator error' });
  }
}

type Anomaly = z.infer<typeof anomalySchema>;

/** POST /_sim/bills/anomalies: one discrepancy class, made real in the simulator's records or its bills. */
async function injectAnomaly(ctx: SimContext, a: Anomaly): Promise<Record<string, unknown>> {
  const mchid = ctx.credentials.mchid;
  const now = new Date(ctx.clock.now());
  const at = 'at' in a && a.at ? new Date(a.at) : undefined;
  switch (a.kind) {
    case 'unknown_trade': {
      const outTradeNo = a.out_trade_no ?? `EXT${Date.now()}${Math.floor(Math.random() * 1e6)}`;
      const order = await orders.createExternalPaidOrder(ctx, { outTradeNo, amountFen: a.amount_fen, description: a.description, at });
      return { kind: a.kind, out_trade_no: order.out_trade_no, transaction_id: order.transaction_id, bill_date: beijingDate(order.success_time!) };
    }
    case 'unheard_payment': {
      const successTime = at ?? now;
      // Hidden until the day's bill can be fetched: reconciliation is the first place the payment shows.
      const hiddenUntil = a.hidden_until ? new Date(a.hidden_until) : ctx.billsImmediate ? now : billReadyAt(beijingDate(successTime));
      const order = await orders.pay(ctx, { outTradeNo: a.out_trade_no }, { allowClosed: true, successTime, hiddenUntil });
      return {
        kind: a.kind,
        out_trade_no: order.out_trade_no,
        transaction_id: order.transaction_id,
        bill_date: beijingDate(order.success_time!),
        hidden_until: hiddenUntil.toISOString(),
      };
    }
    case 'external_refund': {
      const refund = await refunds.createExternalRefund(ctx, mchid, { outTradeNo: a.out_trade_no, refundFen: a.amount_fen, outRefundNo: a.out_refund_no, at });
      return {
        kind: a.kind,
        out_trade_no: refund.out_trade_no,
        out_refund_no: refund.out_refund_no,
        refund_id: refund.refund_id,
        bill_date: beijingDate(refund.created_at),
      };
    }
    case 'amount_difference':
    case 'missing_row': {
      const order = await store.findOrder(ctx.sql, mchid, a.out_trade_no);
      if (!order?.success_time) throw errors.orderNotExist();
      const value = a.kind === 'amount_difference' ? { total_fen: a.bill_amount_fen } : {};
      await store.putBillOverride(ctx.sql, { mchid, out_trade_no: a.out_trade_no, kind: a.kind === 'amount_difference' ? 'amount' : 'missing', value }, now);
      return { kind: a.kind, out_trade_no: a.out_trade_no, bill_date: beijingDate(order.success_time), ...value };
    }
    case 'fee_difference': {
      const order = await store.findOrder(ctx.sql, mchid, a.out_trade_no);
      if (!order?.success_time || !(await store.setOrderFee(ctx.sql, mchid, a.out_trade_no, a.fee_fen))) throw errors.orderNotExist();
      return { kind: a.kind, out_trade_no: a.out_trade_no, bill_date: beijingDate(order.success_time), fee_fen: a.fee_fen, expected_fee_fen: order.fee_fen };
    }
  }
}
