// The refund domain against the real simulator, Postgres and pg-boss: every WeChat rule and our limits,
// idempotency, spacing, the active-query schedule, notifications, CLOSED re-application, ABNORMAL handling,
// maker-checker, and refunds found in bills. Timings are scaled (REFUND_TIME_SCALE, the simulator's time
// scale and clock); assertions are on what was stored and scheduled, never on elapsed time.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alerts, auditLog, orderEvents, orders, outboxEvents, paymentAttempts, refunds } from '@/db/schema';
import type { AuditActor } from '@/server/auth/audit';
import { setRefundLimits } from '@/server/auth/limits';
import { loadOrderDetail } from '@/server/console/order-detail';
import { QUEUE } from '@/server/queue/catalogue';
import { causeId } from '@/server/queue/ids';
import {
  decideRefund,
  executeRefund,
  paymentFiguresOf,
  reapplyClosedRefund,
  RefundError,
  recordExternalRefund,
  requestRefund,
  resolveAbnormalRefund,
  spacingMs,
  sweepRefunds,
  queryIntervalSeconds,
  type RefundRow,
} from '@/server/refunds';
import { WechatPayClient } from '@/server/wechatpay/client';
import { loadPrivateKey } from '@/server/wechatpay/crypto';
import { WechatPayApiError, WechatPayNetworkError } from '@/server/wechatpay/errors';
import { eventually, startHarness, trpcCall, type Harness } from '../helpers/app-harness';

const SCALE = 0.005;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    env: {
      REFUND_TIME_SCALE: String(SCALE),
      REFUND_APPROVAL_THRESHOLD_FEN: '20000',
      REFUND_STEP_UP_THRESHOLD_FEN: '15000',
      CHECKOUT_RATE_LIMIT_PER_MINUTE: '10000',
    },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(async () => {
  h.notifyOutage = false;
  await sim('PUT', '/_sim/faults', {});
  await sim('DELETE', '/_sim/refund-plans/default');
});

async function sim(method: string, path: string, body?: unknown) {
  const res = await fetch(`${h.simUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const deps = () => ({ env: h.deps.env, clock: h.deps.clock });
const execDeps = () => ({ ...deps(), gateway: h.deps.gateway(), notifyUrl: h.deps.env.notifyUrl });
/** The worker's function with a client that does not retry on its own, so each WeChat answer reaches the domain. */
const singleShot = () => {
  const g = h.deps.gateway();
  const client = new WechatPayClient({
    mchid: g.mchid,
    appid: g.appid,
    merchantSerial: h.credentials.merchant.serial,
    merchantPrivateKey: loadPrivateKey(h.credentials.merchant.privateKeyPem),
    verifier: g.verifier,
    baseUrl: h.simUrl,
    timeoutMs: 500,
    retries: 0,
  });
  return { ...execDeps(), gateway: { ...g, client } };
};

let users = 0;
function actor(role: string, opts: { fresh?: boolean; id?: string } = {}): AuditActor {
  const id = opts.id ?? `user-${role}-${++users}`;
  return { id, email: `${id}@shop.test`, role, ip: '203.0.113.5', userAgent: 'vitest', twoFactorFresh: opts.fresh ?? true };
}
const owner = () => actor('owner');

async function paidOrder(productId = 'longjing-tea', quantity = 1) {
  const res = await trpcCall<{ token: string }>(h.appUrl, 'checkout.create', { items: [{ productId, quantity }] }, 'mutation');
  expect(res.status, JSON.stringify(res.error)).toBe(200);
  const view = (await trpcCall(h.appUrl, 'checkout.status', { token: res.data!.token })).data;
  await h.simPay(view.codeUrl);
  return eventually(async () => {
    const [o] = await h.db.select().from(orders).where(eq(orders.token, res.data!.token));
    return o?.status === 'paid' ? { ...o, outTradeNo: view.outTradeNo as string } : null;
  }, 15_000);
}

async function refundRow(id: string): Promise<RefundRow> {
  const [r] = await h.db.select().from(refunds).where(eq(refunds.id, id));
  return r!;
}
const until = (id: string, status: RefundRow['status'], timeoutMs = 20_000) =>
  eventually(async () => {
    const r = await refundRow(id);
    return r.status === status ? r : null;
  }, timeoutMs);

async function rejection(p: Promise<unknown>): Promise<RefundError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RefundError);
  return err as RefundError;
}

async function simRefunds(outTradeNo: string): Promise<Array<Record<string, any>>> {
  return (await sim('GET', `/_sim/refunds?out_trade_no=${outTradeNo}`)).body.refunds;
}

async function jobStartAfter(id: string): Promise<Date | null> {
  const rows = await h.db.execute<{ start_after: Date }>(sql`select start_after from pgboss.job where id = ${id}::uuid`);
  return rows[0] ? new Date(rows[0].start_after) : null;
}

/** A refund row with no job, for driving the worker's function by hand against a given WeChat answer. */
async function bareRefund(order: { id: string }, amountFen: number, outRefundNo: string): Promise<RefundRow> {
  const [attempt] = await h.db
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.orderId, order.id), eq(paymentAttempts.status, 'paid')));
  const [row] = await h.db
    .insert(refunds)
    .values({
      orderId: order.id,
      attemptId: attempt!.id,
      outRefundNo,
      amountFen,
      reason: 'test',
      kind: 'merchant',
      initiatedBy: 'merchant',
      sendAfter: new Date(0),
    })
    .returning();
  return row!;
}

describe('a refund from request to money back', () => {
  it('refunds an order in full: row and job first, WeChat once, order refunded from the sum, events and timeline', async () => {
    const order = await paidOrder();
    const { refund, created } = await requestRefund(h.db, deps(), {
      orderId: order.id,
      amountFen: order.amountFen,
      reason: '客户退货',
      actor: owner(),
      initiatedBy: 'merchant',
    });
    expect(created).toBe(true);
    expect(refund.status).toBe('requested');
    expect(refund.outRefundNo).toMatch(/^RF[0-9A-Z]{22}$/);
    expect(await jobStartAfter(causeId('refund', refund.outRefundNo))).not.toBeNull();

    const done = await until(refund.id, 'succeeded');
    expect(done.refundId).toMatch(/^\d+$/);
    const [after] = await h.db.select().from(orders).where(eq(orders.id, order.id));
    expect(after!.status).toBe('refunded');
    expect(after!.refundedFen).toBe(order.amountFen);

    const atWechat = await simRefunds(order.outTradeNo);
    expect(atWechat.map((r) => [r.out_refund_no, r.amount.refund, r.status])).toEqual([[refund.outRefundNo, order.amountFen, 'SUCCESS']]);

    const outbox = await h.db.select().from(outboxEvents).where(eq(outboxEvents.orderId, order.id));
    expect(outbox.filter((e) => e.topic.startsWith('refund.')).map((e) => e.topic)).toEqual(['refund.succeeded']);
    expect(outbox.some((e) => e.topic.startsWith('order.'))).toBe(false);
    const types = (await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, order.id))).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['refund.requested', 'refund.succeeded', 'order.refunded']));
    const audit = await h.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectType, 'refund'), eq(auditLog.objectId, refund.id)));
    expect(audit.map((a) => a.action)).toEqual(['refund.request']);
  });

  it('spaces one order’s refunds ≥ 61 s (scaled) by scheduling their jobs, and derives partially_refunded from the sum', async () => {
    const order = await paidOrder('mooncake-box');
    const made: RefundRow[] = [];
    for (const fen of [1000, 2000, 3000]) {
      made.push((await requestRefund(h.db, deps(), { orderId: order.id, amountFen: fen, reason: '部分退款', actor: owner(), initiatedBy: 'merchant' })).refund);
    }
    const starts = await Promise.all(made.map((r) => jobStartAfter(causeId('refund', r.outRefundNo))));
    for (let i = 1; i < made.length; i++) {
      expect(made[i]!.sendAfter!.getTime() - made[i - 1]!.sendAfter!.getTime()).toBeGreaterThanOrEqual(spacingMs(SCALE));
      expect(starts[i]!.getTime()).toBe(made[i]!.sendAfter!.getTime());
    }
    for (const r of made) await until(r.id, 'succeeded');
    const [after] = await h.db.select().from(orders).where(eq(orders.id, order.id));
    expect(after!.status).toBe('partially_refunded');
    expect(after!.refundedFen).toBe(6000);
    const atWechat = await simRefunds(order.outTradeNo);
    expect(atWechat.map((r) => r.out_refund_no).sort()).toEqual(made.map((r) => r.outRefundNo).sort());
    // The simulator's 1-minute rule (scaled) was never broken: no create was answered FREQUENCY_LIMITED.
    for (const r of made) expect((await refundRow(r.id)).lastError).toBeNull();
  });
});

describe('WeChat’s rules, checked before anything is written', () => {
  it('refuses more than what is left, counting refunds in flight', async () => {
    const order = await paidOrder();
    await sim('PUT', '/_sim/refund-plans/default', { status: 'PROCESSING' });
    const first = await requestRefund(h.db, deps(), { orderId: order.id, amountFen: 8000, reason: '退款', actor: owner(), initiatedBy: 'merchant' });
    const err = await rejection(requestRefund(h.db, deps(), { orderId: order.id, amountFen: 801, reason: '退款', actor: owner(), initiatedBy: 'merchant' }));
    expect(err.rule).toBe('EXCEEDS_REFUNDABLE');
    const figures = await paymentFiguresOf(h.db, order.id, new Date());
    expect(figures).toMatchObject({ paidFen: 8800, refundedFen: 0, inFlightFen: 8000, refundableFen: 800, refundsLeft: 49 });
    await until(first.refund.id, 'processing');
    expect(await h.db.select().from(refunds).where(eq(refunds.orderId, order.id))).toHaveLength(1);
  });

  it('refuses a bad amount, a bad reason, an unpaid order, a payment over a year old and a 51st refund', async () => {
    const order = await paidOrder();
    const ask = (amountFen: number, reason = '退款', orderId = order.id) =>
      rejection(requestRefund(h.db, deps(), { orderId, amountFen, reason, actor: owner(), initiatedBy: 'merchant' }));
    expect((await ask(0)).rule).toBe('INVALID_AMOUNT');
    expect((await ask(1.5)).rule).toBe('INVALID_AMOUNT');
    expect((await ask(100, 'x'.repeat(81))).rule).toBe('INVALID_REASON');
    expect((await ask(100, '退款😀')).rule).toBe('INVALID_REASON');
    expect((await ask(100, '   ')).rule).toBe('INVALID_REASON');
    // 80 characters exactly is fine (WeChat counts characters, not bytes).
    const ok = await requestRefund(h.db, deps(), { orderId: order.id, amountFen: 100, reason: '退'.repeat(80), actor: owner(), initiatedBy: 'merchant' });
    expect(ok.refund.reason).toHaveLength(80);

    const unpaid = await trpcCall<{ token: string }>(h.appUrl, 'checkout.create', { items: [{ productId: 'longjing-tea', quantity: 1 }] }, 'mutation');
    const [waiting] = await h.db.select().from(orders).where(eq(orders.token, unpaid.data!.token));
    expect((await ask(100, '退款', waiting!.id)).rule).toBe('ORDER_NOT_REFUNDABLE');
    expect((await ask(100, '退款', '00000000-0000-4000-8000-000000000000')).rule).toBe('ORDER_NOT_FOUND');

    const old = await paidOrder();
    await h.db
      .update(paymentAttempts)
      .set({ paidAt: new Date(Date.now() - 366 * 86_400_000) })
      .where(eq(paymentAttempts.orderId, old.id));
    expect((await ask(100, '退款', old.id)).rule).toBe('REFUND_WINDOW_PASSED');

    const many = await paidOrder();
    const [attempt] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, many.id));
    await h.db.insert(refunds).values(
      Array.from({ length: 50 }, (_, i) => ({
        orderId: many.id,
        attemptId: attempt!.id,
        outRefundNo: `FIXTURE${many.outTradeNo}${i}`,
        amountFen: 1,
        reason: 'x',
        kind: 'merchant',
        status: 'succeeded' as const,
      })),
    );
    const figures = await paymentFiguresOf(h.db, many.id, new Date());
    expect(figures!.refundsLeft).toBe(0);
    expect((await ask(1, '退款', many.id)).rule).toBe('TOO_MANY_REFUNDS');
  });
});

describe('idempotency', () => {
  it('returns the same refund for a repeated key, even for concurrent double clicks, and refuses the key for another refund', async () => {
    const order = await paidOrder();
    const key = `console:${order.id}`;
    const input = { orderId: order.id, amountFen: 500, reason: '重复点击', actor: owner(), initiatedBy: 'merchant' as const, idempotencyKey: key };
    const results = await Promise.all([requestRefund(h.db, deps(), input), requestRefund(h.db, deps(), input), requestRefund(h.db, deps(), input)]);
    expect(new Set(results.map((r) => r.refund.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const later = await requestRefund(h.db, deps(), input);
    expect(later).toMatchObject({ created: false, refund: { id: results[0]!.refund.id, outRefundNo: results[0]!.refund.outRefundNo } });
    expect((await rejection(requestRefund(h.db, deps(), { ...input, amountFen: 501 }))).rule).toBe('IDEMPOTENCY_KEY_REUSED');
    await until(results[0]!.refund.id, 'succeeded');
    expect(await simRefunds(order.outTradeNo)).toHaveLength(1);
    // The order page (orders:view) shows the refund but not the key a client chose for it.
    const detail = await loadOrderDetail(h.db, order.id, { fullPayerId: false });
    expect(detail!.refunds).toEqual([expect.objectContaining({ id: results[0]!.refund.id, status: 'succeeded', amountFen: 500 })]);
    expect(JSON.stringify(detail!.refunds)).not.toContain(key);
  });
});

describe('the worker’s call to WeChat, for each answer the simulator gives', () => {
  it('retries a 5xx and a timeout with the same out_refund_no: one refund at WeChat', async () => {
    const order = await paidOrder();
    const row = await bareRefund(order, 300, `T${order.outTradeNo}`);
    await sim('PUT', '/_sim/faults', { refundErrorRate: 1 });
    const err = await executeRefund(h.db, singleShot(), row.id).catch((e) => e);
    expect(err).toBeInstanceOf(WechatPayApiError);
    expect(err.retryable).toBe(true);
    expect(await refundRow(row.id)).toMatchObject({ status: 'requested', lastError: expect.stringMatching(/^SYSTEM_ERROR/) });
    expect(await simRefunds(order.outTradeNo)).toHaveLength(0); // a 500 is answered before anything is done
    await sim('PUT', '/_sim/faults', { refundTimeoutRate: 1 });
    await expect(executeRefund(h.db, singleShot(), row.id)).rejects.toBeInstanceOf(WechatPayNetworkError);
    await sim('PUT', '/_sim/faults', {});
    // The timed-out call may or may not have been done at WeChat (and notified): either way, one refund.
    expect(await executeRefund(h.db, singleShot(), row.id)).toMatch(/processing|succeeded/);
    await until(row.id, 'succeeded');
    const atWechat = await simRefunds(order.outTradeNo);
    expect(atWechat.map((r) => [r.out_refund_no, r.amount.refund])).toEqual([[row.outRefundNo, 300]]);
  });

  it('FREQUENCY_LIMITED (another refund of the order less than a minute before) is retried with the same number', async () => {
    const order = await paidOrder();
    // Another refund of the order, made "just before" ours in simulated time (the simulator's scaled minute is
    // 60 ms, less than a test step takes): made 10 s ahead, then the clock set back for our request.
    await sim('POST', '/_sim/clock', { advanceMs: 10_000 });
    await h.deps.gateway().client.createRefund({
      out_trade_no: order.outTradeNo,
      out_refund_no: `O${order.outTradeNo}`,
      amount: { refund: 100, total: order.amountFen, currency: 'CNY' },
    });
    const { offset_ms: offset } = (await sim('GET', '/_sim/clock')).body;
    await sim('POST', '/_sim/clock', { offsetMs: offset - 10_000, allowBackwards: true });
    const row = await bareRefund(order, 200, `F${order.outTradeNo}`);
    const err = await executeRefund(h.db, singleShot(), row.id).catch((e) => e);
    expect(err).toBeInstanceOf(WechatPayApiError);
    expect(err).toMatchObject({ code: 'FREQUENCY_LIMITED', retryable: true });
    expect((await refundRow(row.id)).status).toBe('requested');
    await sim('POST', '/_sim/clock', { advanceMs: 10_100 });
    expect(await executeRefund(h.db, singleShot(), row.id)).toMatch(/processing|succeeded/);
    expect((await simRefunds(order.outTradeNo)).map((r) => r.out_refund_no).sort()).toEqual([`F${order.outTradeNo}`, `O${order.outTradeNo}`].sort());
  });

  it('INVALID_REQUEST for a number WeChat already holds records WeChat’s refund, not a failure', async () => {
    const order = await paidOrder();
    const row = await bareRefund(order, 400, `P${order.outTradeNo}`);
    // The same number with other parameters reached WeChat first (WeChat: 请求重入时，参数与首次请求时不一致).
    await h.deps.gateway().client.createRefund({
      out_trade_no: order.outTradeNo,
      out_refund_no: row.outRefundNo,
      amount: { refund: 401, total: order.amountFen, currency: 'CNY' },
    });
    await sim('POST', '/_sim/clock', { advanceMs: 61_000 });
    const status = await executeRefund(h.db, execDeps(), row.id);
    expect(status).toMatch(/processing|succeeded/);
    expect((await refundRow(row.id)).refundId).toBeTruthy();
  });

  it('INVALID_REQUEST for a refund WeChat does not hold (over the refundable amount, over a year) ends it failed, with an alert', async () => {
    const order = await paidOrder();
    // WeChat's books: the whole amount was refunded in the merchant platform, unknown to us yet.
    await sim('POST', '/_sim/bills/anomalies', { kind: 'external_refund', out_trade_no: order.outTradeNo, amount_fen: order.amountFen });
    const row = await bareRefund(order, 500, `X${order.outTradeNo}`);
    expect(await executeRefund(h.db, execDeps(), row.id)).toBe('failed');
    const failed = await refundRow(row.id);
    expect(failed.lastError).toMatch(/^INVALID_REQUEST: 申请退款金额超过订单可退金额/);
    expect(
      await h.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.orderId, order.id), eq(alerts.kind, 'refund_failed'))),
    ).toHaveLength(1);
    expect((await paymentFiguresOf(h.db, order.id, new Date()))!.inFlightFen).toBe(0);

    const old = await paidOrder();
    await sim('POST', `/_sim/orders/${old.outTradeNo}/backdate`, { days: 366 });
    const late = await bareRefund(old, 500, `Y${old.outTradeNo}`);
    expect(await executeRefund(h.db, execDeps(), late.id)).toBe('failed');
    expect((await refundRow(late.id)).lastError).toMatch(/最大期限\(1年\)/);
  });

  it('queries a PROCESSING refund on WeChat’s schedule (1, then 5, 10, 20 min, scaled) and stops at its final status', async () => {
    const order = await paidOrder();
    await sim('PUT', '/_sim/refund-plans/default', { status: 'PROCESSING' });
    const { refund } = await requestRefund(h.db, deps(), { orderId: order.id, amountFen: 700, reason: '退款', actor: owner(), initiatedBy: 'merchant' });
    await eventually(async () => (await refundRow(refund.id)).queryStep >= 3, 20_000);
    const accepted = (await refundRow(refund.id)).acceptedAt!;
    const starts = await Promise.all([0, 1, 2].map((s) => jobStartAfter(causeId('refund', refund.outRefundNo, 'query', s))));
    expect(starts[0]!.getTime() - accepted.getTime()).toBeGreaterThanOrEqual(queryIntervalSeconds(0) * 1000 * SCALE);
    for (const s of [1, 2]) expect(starts[s]!.getTime() - starts[s - 1]!.getTime()).toBeGreaterThanOrEqual(queryIntervalSeconds(s) * 1000 * SCALE);
    expect([0, 1, 2, 3, 4].map(queryIntervalSeconds)).toEqual([60, 300, 600, 1200, 1800]);
    expect(queryIntervalSeconds(9)).toBe(1800);

    await sim('POST', `/_sim/refunds/${refund.outRefundNo}/outcome`, { status: 'SUCCESS' });
    const done = await until(refund.id, 'succeeded');
    expect(done.nextQueryAt).toBeNull();
  });

  it('learns the result from the notification alone, and from queries alone when every notification is lost; one event either way', async () => {
    const a = await paidOrder();
    const viaNotify = await requestRefund(h.db, deps(), { orderId: a.id, amountFen: 100, reason: '退款', actor: owner(), initiatedBy: 'merchant' });
    await until(viaNotify.refund.id, 'succeeded');
    h.notifyOutage = true;
    const b = await paidOrder();
    const viaQuery = await requestRefund(h.db, deps(), { orderId: b.id, amountFen: 100, reason: '退款', actor: owner(), initiatedBy: 'merchant' });
    await until(viaQuery.refund.id, 'succeeded');
    const sources = await h.db
      .select()
      .from(orderEvents)
      .where(and(eq(orderEvents.orderId, b.id), eq(orderEvents.type, 'refund.succeeded')));
    expect(sources.map((e) => e.source)).toEqual(['query']);
    h.notifyOutage = false;
    for (const o of [a, b]) {
      const events = await h.db
        .select()
        .from(outboxEvents)
        .where(and(eq(outboxEvents.orderId, o.id), eq(outboxEvents.topic, 'refund.succeeded')));
      expect(events).toHaveLength(1);
    }
  });
});

describe('CLOSED and ABNORMAL refunds', () => {
  it('re-applies a CLOSED refund with a new number linked to the old, once', async () => {
    const order = await paidOrder();
    await sim('PUT', '/_sim/refund-plans/default', { status: 'CLOSED', afterMs: 10 });
    const { refund } = await requestRefund(h.db, deps(), { orderId: order.id, amountFen: 1200, reason: '退款', actor: owner(), initiatedBy: 'merchant' });
    await until(refund.id, 'closed');
    await sim('DELETE', '/_sim/refund-plans/default');
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(and(eq(outboxEvents.orderId, order.id), eq(outboxEvents.topic, 'refund.closed'))),
    ).toHaveLength(1);
    expect(
      await h.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.orderId, order.id), eq(alerts.kind, 'refund_closed'))),
    ).toHaveLength(1);
    expect((await paymentFiguresOf(h.db, order.id, new Date()))!.refundableFen).toBe(order.amountFen);

    const again = await reapplyClosedRefund(h.db, deps(), { refundId: refund.id, actor: owner() });
    expect(again.outRefundNo).not.toBe(refund.outRefundNo);
    expect(again.replacesRefundId).toBe(refund.id);
    expect((await rejection(reapplyClosedRefund(h.db, deps(), { refundId: refund.id, actor: owner() }))).rule).toBe('ALREADY_REAPPLIED');
    expect((await rejection(reapplyClosedRefund(h.db, deps(), { refundId: again.id, actor: owner() }))).rule).toBe('NOT_CLOSED');
    await until(again.id, 'succeeded');
    const atWechat = await simRefunds(order.outTradeNo);
    expect(atWechat.map((r) => [r.out_refund_no, r.status])).toEqual([
      [refund.outRefundNo, 'CLOSED'],
      [again.outRefundNo, 'SUCCESS'],
    ]);
    expect((await h.db.select().from(orders).where(eq(orders.id, order.id)))[0]!.refundedFen).toBe(1200);
  });

  it('pays an ABNORMAL refund to the payer’s debit card (fields encrypted for WeChat) or the merchant account, or records the merchant platform', async () => {
    await sim('PUT', '/_sim/refund-plans/default', { status: 'ABNORMAL', afterMs: 10 });
    const rows: RefundRow[] = [];
    for (let i = 0; i < 3; i++) {
      const order = await paidOrder();
      const { refund } = await requestRefund(h.db, deps(), { orderId: order.id, amountFen: 800, reason: '退款', actor: owner(), initiatedBy: 'merchant' });
      rows.push(await until(refund.id, 'abnormal'));
    }
    await sim('DELETE', '/_sim/refund-plans/default');
    const [card, merchant, platform] = rows as [RefundRow, RefundRow, RefundRow];
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(and(eq(outboxEvents.orderId, card.orderId), eq(outboxEvents.topic, 'refund.abnormal'))),
    ).toHaveLength(1);

    const bad = await rejection(
      resolveAbnormalRefund(
        h.db,
        { ...deps(), gateway: h.deps.gateway() },
        { refundId: card.id, actor: owner(), resolution: { type: 'USER_BANK_CARD', bankType: 'CMB_DEBIT', bankAccount: '12', realName: '张三' } },
      ),
    );
    expect(bad.rule).toBe('INVALID_BANK_DETAILS');
    expect(bad.message).not.toContain('张三');
    expect((await refundRow(card.id)).abnormalResolution).toBeNull(); // refused: may be handled again

    await resolveAbnormalRefund(
      h.db,
      { ...deps(), gateway: h.deps.gateway() },
      {
        refundId: card.id,
        actor: owner(),
        resolution: { type: 'USER_BANK_CARD', bankType: 'CMB_DEBIT', bankAccount: '6225880112345678', realName: '张三' },
      },
    );
    await resolveAbnormalRefund(
      h.db,
      { ...deps(), gateway: h.deps.gateway() },
      { refundId: merchant.id, actor: owner(), resolution: { type: 'MERCHANT_BANK_CARD' } },
    );
    expect(
      (
        await rejection(
          resolveAbnormalRefund(
            h.db,
            { ...deps(), gateway: h.deps.gateway() },
            { refundId: merchant.id, actor: owner(), resolution: { type: 'MERCHANT_BANK_CARD' } },
          ),
        )
      ).rule,
    ).toBe('NOT_ABNORMAL');
    await until(card.id, 'succeeded');
    await until(merchant.id, 'succeeded');
    const atWechat = (await sim('GET', `/_sim/refunds/${card.outRefundNo}`)).body;
    expect(JSON.stringify(atWechat)).toContain('5678');
    expect(JSON.stringify(atWechat)).not.toContain('6225880112345678');

    const handled = await resolveAbnormalRefund(
      h.db,
      { ...deps(), gateway: h.deps.gateway() },
      { refundId: platform.id, actor: owner(), resolution: { type: 'MERCHANT_PLATFORM' } },
    );
    expect(handled).toMatchObject({ status: 'abnormal', abnormalResolution: 'MERCHANT_PLATFORM' });
    expect(handled.nextQueryAt).not.toBeNull(); // queried until WeChat says what the merchant platform did
    const audit = await h.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'refund.abnormal_resolve'), eq(auditLog.objectId, card.id)));
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]!.after)).not.toContain('6225880112345678');

    // A handled ABNORMAL refund whose query job was lost is picked up again by the sweep, like a PROCESSING one.
    const jobsOf = async (refundId: string) =>
      Number(
        (
          await h.db.execute<{ n: string }>(sql`select count(*) as n from pgboss.job where name = ${QUEUE.executeRefund} and data->>'refundId' = ${refundId}`)
        )[0]!.n,
      );
    await h.db
      .update(refunds)
      .set({ updatedAt: new Date(Date.now() - 24 * 3600_000) })
      .where(eq(refunds.id, platform.id));
    const before = await jobsOf(platform.id);
    expect(await sweepRefunds(h.db)).toBeGreaterThanOrEqual(1);
    expect(await jobsOf(platform.id)).toBe(before + 1);
  });
});

describe('who may refund: roles, limits, step-up, maker-checker', () => {
  it('a viewer or support user cannot refund; limits per role (single, Beijing-day total per user); step-up for large refunds', async () => {
    const order = await paidOrder('mooncake-box', 2);
    const ask = (a: AuditActor, amountFen: number) =>
      rejection(requestRefund(h.db, deps(), { orderId: order.id, amountFen, reason: '退款', actor: a, initiatedBy: 'merchant' }));
    expect((await ask(actor('viewer'), 100)).rule).toBe('ROLE_MAY_NOT_REFUND');
    expect((await ask(actor('support'), 100)).rule).toBe('ROLE_MAY_NOT_REFUND');
    expect((await ask(actor('owner', { fresh: false }), 15000)).rule).toBe('STEP_UP_REQUIRED');

    await setRefundLimits(h.db, owner(), 'finance', { singleRefundMaxFen: 5000, dailyRefundMaxFen: 7000 }, 'test');
    try {
      const finance = actor('finance');
      expect((await ask(finance, 5001)).rule).toBe('SINGLE_LIMIT_EXCEEDED');
      await requestRefund(h.db, deps(), { orderId: order.id, amountFen: 4000, reason: '退款', actor: finance, initiatedBy: 'merchant' });
      const daily = await ask(finance, 3001);
      expect(daily.rule).toBe('DAILY_LIMIT_EXCEEDED');
      expect(daily.message).toContain('30.00');
      // Another finance user has a day of their own.
      await requestRefund(h.db, deps(), { orderId: order.id, amountFen: 3001, reason: '退款', actor: actor('finance'), initiatedBy: 'merchant' });
    } finally {
      await setRefundLimits(h.db, owner(), 'finance', { singleRefundMaxFen: 2_000_00, dailyRefundMaxFen: 20_000_00 }, 'test');
    }
  });

  it('above the threshold a refund waits for a different approver; nothing reaches WeChat before; both audited', async () => {
    const order = await paidOrder('mooncake-box', 2); // 256.00
    const maker = actor('finance');
    const { refund } = await requestRefund(h.db, deps(), { orderId: order.id, amountFen: 25600, reason: '整单退款', actor: maker, initiatedBy: 'merchant' });
    expect(refund.status).toBe('pending_approval');
    expect(await jobStartAfter(causeId('refund', refund.outRefundNo))).toBeNull();
    expect((await paymentFiguresOf(h.db, order.id, new Date()))!.refundableFen).toBe(0);

    const decide = (a: AuditActor, approve = true) => rejection(decideRefund(h.db, deps(), { refundId: refund.id, actor: a, approve }));
    expect((await decide(maker)).rule).toBe('OWN_REFUND');
    expect((await decide({ ...actor('owner'), id: maker.id })).rule).toBe('OWN_REFUND');
    expect((await decide(actor('viewer'))).rule).toBe('MAY_NOT_APPROVE');
    expect((await decide(actor('support'))).rule).toBe('MAY_NOT_APPROVE');
    expect((await decide(actor('admin', { fresh: false }))).rule).toBe('STEP_UP_REQUIRED');
    expect(await simRefunds(order.outTradeNo)).toHaveLength(0);

    const checker = actor('admin');
    const approved = await decideRefund(h.db, deps(), { refundId: refund.id, actor: checker, approve: true });
    expect(approved).toMatchObject({ status: 'requested', decidedById: checker.id });
    expect((await decide(actor('owner'))).rule).toBe('NOT_PENDING_APPROVAL');
    await until(refund.id, 'succeeded');
    const audit = await h.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.objectType, 'refund'), eq(auditLog.objectId, refund.id)))
      .orderBy(auditLog.id);
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([
      ['refund.request_approval', maker.id],
      ['refund.approve', checker.id],
    ]);
    expect((await h.db.select().from(orders).where(eq(orders.id, order.id)))[0]!.status).toBe('refunded');
  });

  it('a rejected refund is never sent and frees its amount', async () => {
    const order = await paidOrder('mooncake-box', 2);
    const { refund } = await requestRefund(h.db, deps(), {
      orderId: order.id,
      amountFen: 20000,
      reason: '退款',
      actor: actor('owner'),
      initiatedBy: 'api',
      idempotencyKey: `api:k1:${order.id}`,
    });
    expect(refund.status).toBe('pending_approval');
    const rejected = await decideRefund(h.db, deps(), { refundId: refund.id, actor: actor('finance'), approve: false, note: '金额有误' });
    expect(rejected.status).toBe('rejected');
    expect((await paymentFiguresOf(h.db, order.id, new Date()))!.refundableFen).toBe(25600);
    expect(await simRefunds(order.outTradeNo)).toHaveLength(0);
    const types = (await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, order.id))).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['refund.pending_approval', 'refund.rejected']));
  });
});

describe('refunds found in a bill (made in the merchant platform)', () => {
  it('records an external refund once, moves the order and emits refund.succeeded', async () => {
    const order = await paidOrder();
    const made = (await sim('POST', '/_sim/bills/anomalies', { kind: 'external_refund', out_trade_no: order.outTradeNo, amount_fen: 1800 })).body;
    const atWechat = (await simRefunds(order.outTradeNo))[0]!;
    const [attempt] = await h.db.select().from(paymentAttempts).where(eq(paymentAttempts.orderId, order.id));
    const input = {
      orderId: order.id,
      attemptId: attempt!.id,
      outRefundNo: atWechat.out_refund_no,
      refundId: atWechat.refund_id,
      amountFen: 1800,
      status: 'SUCCESS',
      source: 'bill' as const,
    };
    expect(made).toBeTruthy();
    const first = await h.db.transaction((tx) => recordExternalRefund(tx, input));
    const second = await h.db.transaction((tx) => recordExternalRefund(tx, input));
    expect(first).toMatchObject({ created: true, refund: { kind: 'external', initiatedBy: 'bill', status: 'succeeded' } });
    expect(second.created).toBe(false);
    const [after] = await h.db.select().from(orders).where(eq(orders.id, order.id));
    expect(after).toMatchObject({ status: 'partially_refunded', refundedFen: 1800 });
    expect(
      await h.db
        .select()
        .from(outboxEvents)
        .where(and(eq(outboxEvents.orderId, order.id), eq(outboxEvents.topic, 'refund.succeeded'))),
    ).toHaveLength(1);
    expect((await paymentFiguresOf(h.db, order.id, new Date()))!.refundableFen).toBe(order.amountFen - 1800);
  });
});
