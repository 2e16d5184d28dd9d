// The simulator's own dev/test endpoints under /_sim/. Not part of WeChat's surface: unsigned plain JSON,
// errors as {code, message}. They hand out private keys, which is why the server binds to 127.0.0.1 by default.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { SimContext } from './context';
import { errors, SimApiError } from './errors';
import { bodyError, readRawBody, sendJson } from './http';
import * as orders from './orders';
import * as store from './store';

const paySchema = z.object({ code_url: z.string().min(1), allowClosed: z.boolean().optional() });

function isoOrNull(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export async function handleControl(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const { pathname } = new URL(req.url ?? '/', 'http://simulator.invalid');
    const method = req.method ?? 'GET';

    if (pathname === '/_sim/health' && method === 'GET') {
      sendJson(res, 200, { ok: true });
      return;
    }
    if (pathname === '/_sim/credentials' && method === 'GET') {
      sendJson(res, 200, ctx.credentials);
      return;
    }
    if (pathname === '/_sim/pay' && method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readRawBody(req, 64 * 1024);
      } catch (err) {
        throw bodyError(err) ?? err;
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw errors.param('body is not valid JSON');
      }
      const parsed = paySchema.safeParse(json);
      if (!parsed.success) throw errors.param(`invalid body: ${parsed.error.issues[0].message}`);
      const paid = await orders.payByCodeUrl(ctx, parsed.data.code_url, { allowClosed: parsed.data.allowClosed });
      ctx.notifier.wake();
      sendJson(res, 200, { out_trade_no: paid.out_trade_no, transaction_id: paid.transaction_id });
      return;
    }
    const orderMatch = /^\/_sim\/orders\/([^/]+)$/.exec(pathname);
    if (orderMatch && method === 'GET') {
      let outTradeNo: string;
      try {
        outTradeNo = decodeURIComponent(orderMatch[1]);
      } catch {
        throw errors.orderNotExist();
      }
      const order = await orders.findOrder(ctx, ctx.credentials.mchid, outTradeNo);
      if (!order) throw errors.orderNotExist();
      const notifications = await store.listNotifications(ctx.sql, order.mchid, order.out_trade_no);
      sendJson(res, 200, {
        ...order,
        time_expire: isoOrNull(order.time_expire),
        code_url_issued_at: isoOrNull(order.code_url_issued_at),
        success_time: isoOrNull(order.success_time),
        closed_at: isoOrNull(order.closed_at),
        created_at: isoOrNull(order.created_at),
        updated_at: isoOrNull(order.updated_at),
        transaction: orders.transactionJson(order),
        notifications: notifications.map((n) => ({
          id: n.id,
          event_type: n.event_type,
          notify_url: n.notify_url,
          status: n.status,
          attempts: n.attempts,
          next_attempt_at: isoOrNull(n.next_attempt_at),
          last_attempt_at: isoOrNull(n.last_attempt_at),
          last_status: n.last_status,
          last_error: n.last_error,
          delivered_at: isoOrNull(n.delivered_at),
        })),
      });
      return;
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
