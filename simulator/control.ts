// The simulator's own dev/test endpoints under /_sim/. Not part of WeChat's surface: unsigned plain JSON,
// errors as {code, message}. They hand out private keys, which is why the server binds to 127.0.0.1 by default.
// Documented in docs/wechatpay.md ("Driving the simulator").
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { SimContext } from './context';
import { errors, SimApiError } from './errors';
import { FaultsInput } from './faults';
import { bodyError, readRawBody, sendJson } from './http';
import * as orders from './orders';
import * as refunds from './refunds';
import * as store from './store';
import type { NotificationAttemptRow, NotificationRow, RefundRow } from './store';

const payOptions = {
  /** SUCCESS (default) pays; INSUFFICIENT_BALANCE is the shopper's 余额不足: refused, nothing changes. */
  outcome: z.enum(['SUCCESS', 'INSUFFICIENT_BALANCE']).optional(),
  /** Pay even a CLOSED order: reproduces a late payment. */
  allowClosed: z.boolean().optional(),
};
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
  };
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

    if (pathname === '/_sim/pay' && method === 'POST') {
      const body = parse(paySchema, await readJson(req));
      const target = 'code_url' in body ? { codeUrl: body.code_url } : { outTradeNo: body.out_trade_no };
      const order = await orders.pay(ctx, target, { allowClosed: body.allowClosed, outcome: body.outcome });
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
      const [notifications, attempts] = await Promise.all([
        store.listNotifications(ctx.sql, mchid, outTradeNo, limit),
        store.listAttempts(ctx.sql, mchid, outTradeNo, limit),
      ]);
      return sendJson(res, 200, { notifications: notifications.map(notificationJson), attempts: attempts.map(attemptJson) });
    }

    const refundMatch = /^\/_sim\/refunds\/([^/]+)(\/outcome)?$/.exec(pathname);
    if (refundMatch) {
      const outRefundNo = decodeParam(refundMatch[1], errors.refundNotExist);
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
      const outTradeNo = decodeParam(orderMatch[1], errors.orderNotExist);
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
