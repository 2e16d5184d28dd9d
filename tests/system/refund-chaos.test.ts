// Refund chaos: refunds (full and partial, several per order, some asked twice with the same key, some over
// what is left) while the simulator fails 20 % of refund calls, times out 10 % (some after doing the work),
// drops and duplicates refund notifications, and the worker is SIGKILLed twice. WeChat must hold exactly the
// refunds we meant (one per out_refund_no), no order refunded above its payment, every refund in the state
// WeChat holds, every order's refunded amount WeChat's. `npm test` runs a small version; CHAOS_REFUNDS=100
// the full one.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import path from 'node:path';
import { orders, outboxEvents, refunds } from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { RefundError, requestRefund, type RefundDeps } from '@/server/refunds';
import { launch, ROOT, type Launched as Cluster } from '../../scripts/lib/cluster';
import { testPort } from '../helpers/test-ports';

const N = Number(process.env.CHAOS_REFUNDS ?? 24);
const CONVERGE_TIMEOUT_MS = Number(process.env.CHAOS_TIMEOUT_MS ?? 300_000);
const REFUND_TIME_SCALE = 0.02; // one order's refunds 1.2 s apart, first query after 1.2 s
const PRICE_FEN = 8800; // longjing-tea

let c: Cluster;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function retry<T>(what: string, fn: () => Promise<T>, attempts = 30): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await sleep(250 + i * 100);
    }
  }
  throw new Error(`${what} kept failing: ${last instanceof Error ? last.message : last}`);
}

async function trpc(p: string, input: unknown, kind: 'query' | 'mutation' = 'query'): Promise<any> {
  const url = `${c.webUrls[0]}/api/trpc/${p}`;
  const res =
    kind === 'query'
      ? await fetch(`${url}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`)
      : await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: input }) });
  const body = await res.json();
  if (!res.ok) throw new Error(`${p}: ${res.status} ${body?.error?.json?.message}`);
  return body.result.data.json;
}

const sim = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(`${c.simUrl}${p}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`sim ${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
};

beforeAll(async () => {
  c = await launch({
    dataDir: path.join(ROOT, '.data', 'system-refund-chaos'),
    pgPort: testPort(54372),
    simPort: testPort(3241),
    webPorts: [testPort(3240)],
    workers: 1,
    echo: process.env.CHAOS_VERBOSE === '1',
    env: {
      DB_POOL_MAX: '8',
      PGBOSS_POOL_MAX: '4',
      SIM_TIME_SCALE: '0.01',
      COMPENSATION_TIME_SCALE: '0.05',
      REFUND_TIME_SCALE: String(REFUND_TIME_SCALE),
      WECHATPAY_TIMEOUT_MS: '1500',
      CHECKOUT_RATE_LIMIT_PER_MINUTE: '100000',
      PGBOSS_SUPERVISE_SECONDS: '2',
    },
  });
}, 180_000);

afterAll(async () => {
  await c?.stop();
});

/** What each order gets: one full refund, or partials (the last one takes what is left). */
function planFor(k: number): number[] {
  return k % 2 === 0 ? [PRICE_FEN] : [1000, 2000, 3000, PRICE_FEN - 6000];
}

it(`${N} refunds end exactly once, each as WeChat holds it, under refund faults, lost and duplicated notifications and worker kills`, async () => {
  const deps: RefundDeps = {
    env: { REFUND_TIME_SCALE, REFUND_APPROVAL_THRESHOLD_FEN: Number.MAX_SAFE_INTEGER, REFUND_STEP_UP_THRESHOLD_FEN: Number.MAX_SAFE_INTEGER },
    clock: { now: () => new Date() },
  };
  const actor = { ...SYSTEM_ACTOR, id: 'chaos-owner', email: 'owner@chaos.test', role: 'owner', twoFactorFresh: true };

  // 1. Orders, paid without faults (the payment side has its own chaos test).
  const plans: number[][] = [];
  for (let k = 0, total = 0; total < N; k++) {
    const p = planFor(k).slice(0, N - total);
    plans.push(p);
    total += p.length;
  }
  const paid: Array<{ id: string; outTradeNo: string; plan: number[] }> = [];
  for (const plan of plans) {
    const created = await retry('create', () => trpc('checkout.create', { items: [{ productId: 'longjing-tea', quantity: 1 }] }, 'mutation'));
    const view = await retry('status', () => trpc('checkout.status', { token: created.token }));
    await retry('pay', () => sim('POST', '/_sim/pay', { code_url: view.codeUrl }));
    const order = await retry(
      'paid',
      async () => {
        const [o] = await c.db.select().from(orders).where(eq(orders.token, created.token));
        if (o?.status !== 'paid') throw new Error(`order ${o?.status}`);
        return o;
      },
      120,
    );
    paid.push({ id: order.id, outTradeNo: view.outTradeNo, plan });
  }

  // 2. Faults on, then the refunds: each order's asked one after the other (as a merchant would), every
  // fourth asked twice at once with the same key (a double click), and one over-refund per order refused.
  await sim('PUT', '/_sim/faults', {
    refundErrorRate: 0.2,
    refundTimeoutRate: 0.1,
    notifyDropRate: 0.3,
    notifyDuplicateRate: 0.5,
    notifyDelayMs: [0, 300],
    notifyReorder: true,
  });
  const started = Date.now();
  let asked = 0;
  let refused = 0;
  const killAt = new Set([Math.floor(N / 3), Math.floor((2 * N) / 3)]);
  for (const [k, o] of paid.entries()) {
    for (const [j, fen] of o.plan.entries()) {
      const input = { orderId: o.id, amountFen: fen, reason: `chaos ${k}.${j}`, actor, initiatedBy: 'api' as const, idempotencyKey: `chaos:${o.id}:${j}` };
      const calls = asked % 4 === 0 ? [requestRefund(c.db, deps, input), requestRefund(c.db, deps, input)] : [requestRefund(c.db, deps, input)];
      const results = await Promise.all(calls);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      asked++;
      if (killAt.has(asked)) {
        await c.killWorker(0, 'SIGKILL');
        await sleep(300);
        await c.startWorker(0);
      }
    }
    const planned = o.plan.reduce((n, f) => n + f, 0);
    const over = await requestRefund(c.db, deps, { orderId: o.id, amountFen: PRICE_FEN - planned + 1, reason: 'over', actor, initiatedBy: 'api' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(over).toBeInstanceOf(RefundError);
    expect((over as RefundError).rule).toBe('EXCEEDS_REFUNDABLE');
    refused++;
  }
  expect(asked).toBe(N);

  // 3. Convergence: every refund final here, and as WeChat holds it.
  const ids = paid.map((o) => o.id);
  const state = async () => {
    const ours = await c.db.select().from(refunds).where(inArray(refunds.orderId, ids));
    const theirs = new Map<string, Record<string, any>>();
    for (const o of paid) for (const r of (await sim('GET', `/_sim/refunds?out_trade_no=${o.outTradeNo}`)).refunds) theirs.set(r.out_refund_no, r);
    const problems: string[] = [];
    for (const r of ours) {
      const w = theirs.get(r.outRefundNo);
      if (!w) problems.push(`${r.outRefundNo} (${r.status}) unknown to WeChat`);
      else if (r.status !== 'succeeded' || w.status !== 'SUCCESS') problems.push(`${r.outRefundNo}: ours ${r.status}, WeChat ${w.status}`);
    }
    return { ours, theirs, problems };
  };
  let s = await state();
  while (s.problems.length && Date.now() - started < CONVERGE_TIMEOUT_MS) {
    await sleep(1000);
    s = await state();
  }
  const convergedMs = Date.now() - started;
  await sim('PUT', '/_sim/faults', {});
  expect(s.problems, s.problems.slice(0, 10).join('\n')).toEqual([]);

  // 4. Exactly once at WeChat: the numbers WeChat holds are exactly ours, one refund each, never above the payment.
  expect(s.ours).toHaveLength(N);
  expect([...s.theirs.keys()].sort()).toEqual(s.ours.map((r) => r.outRefundNo).sort());
  const orderRows = await c.db.select().from(orders).where(inArray(orders.id, ids));
  for (const o of paid) {
    const atWechat = [...s.theirs.values()].filter((r) => r.out_trade_no === o.outTradeNo);
    const wechatFen = atWechat.filter((r) => r.status === 'SUCCESS').reduce((n, r) => n + r.amount.refund, 0);
    const row = orderRows.find((r) => r.id === o.id)!;
    expect(wechatFen).toBeLessThanOrEqual(PRICE_FEN);
    expect(row.refundedFen, `order ${o.outTradeNo}`).toBe(wechatFen);
    expect(row.status).toBe(wechatFen === PRICE_FEN ? 'refunded' : 'partially_refunded');
    for (const r of atWechat) expect(r.amount.refund).toBe(s.ours.find((x) => x.outRefundNo === r.out_refund_no)!.amountFen);
  }
  // One refund.succeeded event per refund, whatever mix of notifications and queries told us.
  const events = await c.db
    .select({ n: sql<number>`count(*)::int`, keys: sql<number>`count(distinct ${outboxEvents.dedupeKey})::int` })
    .from(outboxEvents)
    .where(and(inArray(outboxEvents.orderId, ids), eq(outboxEvents.topic, 'refund.succeeded')));
  expect(events[0]).toEqual({ n: N, keys: N });
  const dead = await c.sql<{ n: number }[]>`select count(*)::int as n from pgboss.job where name = 'payment.execute-refund.dead'`;
  expect(dead[0]!.n).toBe(0);

  const repeats = [...s.theirs.values()].reduce((n, r) => n + Math.max(0, (r.create_requests ?? 1) - 1), 0);
  console.log(
    `[refund-chaos] ${N} refunds on ${paid.length} orders (${refused} over-refunds refused) converged in ${(convergedMs / 1000).toFixed(1)} s; ` +
      `${repeats} repeated create calls answered as the same refund`,
  );
});
