// Chaos: many orders paid while the simulator drops, duplicates, delays and reorders notifications and
// fails API calls, the worker is SIGKILLed twice and the web server restarted. Every order must end in
// the right state exactly once. `npm test` runs a small version; `npm run test:chaos` runs 200 orders.
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orderEvents, orders, outboxEvents, paymentAttempts, refunds, wechatpayNotifications } from '@/db/schema';
import path from 'node:path';
import { launch, ROOT, type Launched as Cluster } from '../../scripts/lib/cluster';
import { testPort } from '../helpers/test-ports';

const N = Number(process.env.CHAOS_ORDERS ?? 30);
// Long enough that every payer pays before expiry even when the web restart is slow on a busy machine.
// Long enough that every payer pays before its QR code expires, also on a loaded machine (worker kills and
// a web restart happen in between); the late and double payments wait for it.
const EXPIRE_SECONDS = 75;
const CONVERGE_TIMEOUT_MS = Number(process.env.CHAOS_TIMEOUT_MS ?? 240_000);

type Kind = 'pay' | 'unpaid' | 'late' | 'double';
interface Order {
  i: number;
  kind: Kind;
  token: string;
  outTradeNo: string;
  codeUrl: string;
  createdAt: number;
  secondOutTradeNo?: string;
}

let c: Cluster;

function kindOf(i: number): Kind {
  const k = i % 10;
  return k <= 5 ? 'pay' : k <= 7 ? 'unpaid' : k === 8 ? 'late' : 'double';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls that may hit a restarting web server or an injected WeChat failure are retried, as a shopper would. */
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

async function trpc(path: string, input: unknown, kind: 'query' | 'mutation' = 'query'): Promise<any> {
  const url = `${c.webUrls[0]}/api/trpc/${path}`;
  const res =
    kind === 'query'
      ? await fetch(`${url}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`)
      : await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: input }) });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body?.error?.json?.message}`);
  return body.result.data.json;
}

async function simPay(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${c.simUrl}/_sim/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`sim pay ${res.status}: ${await res.text()}`);
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

beforeAll(async () => {
  c = await launch({
    dataDir: path.join(ROOT, '.data', 'system-chaos'),
    pgPort: testPort(54369),
    simPort: testPort(3231),
    webPorts: [testPort(3230)],
    workers: 1,
    echo: process.env.CHAOS_VERBOSE === '1',
    env: {
      DB_POOL_MAX: '8',
      PGBOSS_POOL_MAX: '4',
      SIM_TIME_SCALE: '0.01',
      COMPENSATION_TIME_SCALE: '0.05',
      ORDER_EXPIRE_MINUTES: String(EXPIRE_SECONDS / 60),
      CHECKOUT_RATE_LIMIT_PER_MINUTE: '100000',
      PGBOSS_SUPERVISE_SECONDS: '2',
      ORDER_RENEW_WINDOW_MINUTES: String(20 / 60),
      LATE_PAYMENT_POLICY: 'refund',
    },
  });
}, 180_000);

afterAll(async () => {
  await c?.stop();
});

it(`${N} orders converge to the right state exactly once under faults, worker kills and a web restart`, async () => {
  const faults = { notifyDropRate: 0.3, notifyDuplicateRate: 0.5, notifyDelayMs: [0, 400], notifyReorder: true, apiErrorRate: 0.1 };
  const put = await fetch(`${c.simUrl}/_sim/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  expect(put.status).toBe(200);
  const started = Date.now();

  // 1. Shoppers create N orders.
  const list: Order[] = [];
  await inBatches(
    Array.from({ length: N }, (_, i) => i),
    8,
    async (i) => {
      const created = await retry('checkout.create', () =>
        trpc('checkout.create', { items: [{ productId: 'red-envelope', quantity: 1 + (i % 3) }] }, 'mutation'),
      );
      const view = await retry('checkout.status', () => trpc('checkout.status', { token: created.token }));
      list.push({ i, kind: kindOf(i), token: created.token, outTradeNo: view.outTradeNo, codeUrl: view.codeUrl, createdAt: Date.now() });
    },
  );
  list.sort((a, b) => a.i - b.i);

  // 2. Most pay right away, while the worker is killed twice and the web server restarted once.
  const payers = list.filter((o) => o.kind === 'pay');
  const third = Math.ceil(payers.length / 3);
  await inBatches(payers.slice(0, third), 6, (o) => retry('pay', () => simPay({ code_url: o.codeUrl })));
  await c.killWorker(0, 'SIGKILL');
  await sleep(500);
  await c.startWorker(0);
  await inBatches(payers.slice(third, 2 * third), 6, (o) => retry('pay', () => simPay({ code_url: o.codeUrl })));
  await c.killWorker(0, 'SIGKILL');
  await c.restartWeb(0); // notifications meanwhile hit a closed port and are retried by "WeChat"
  await c.startWorker(0);
  await inBatches(payers.slice(2 * third), 6, (o) => retry('pay', () => simPay({ code_url: o.codeUrl })));
  // A few shoppers click "I've paid".
  for (const o of payers.filter((_, k) => k % 7 === 0)) await retry('check', () => trpc('checkout.check', { token: o.token }, 'mutation'));

  // 3. After expiry: late payments on closed attempts; double payments (new QR paid, then the old one too).
  const waitUntil = Math.max(...list.map((o) => o.createdAt)) + EXPIRE_SECONDS * 1000 + 1500;
  await sleep(Math.max(0, waitUntil - Date.now()));
  for (const o of list.filter((x) => x.kind === 'double')) {
    const renewed = await retry('renew', () => trpc('checkout.renew', { token: o.token }, 'mutation'));
    o.secondOutTradeNo = renewed.outTradeNo;
    await retry('pay new', () => simPay({ code_url: renewed.codeUrl }));
  }
  for (const o of list.filter((x) => x.kind === 'late' || x.kind === 'double')) {
    // Wait until we have closed the old attempt, then "WeChat" takes the money anyway.
    await retry(
      'closed',
      async () => {
        const [a] = await c.db.select().from(paymentAttempts).where(eq(paymentAttempts.outTradeNo, o.outTradeNo));
        if (a!.status !== 'closed') throw new Error(`attempt ${a!.status}`);
      },
      120,
    );
    await retry('late pay', () => simPay({ out_trade_no: o.outTradeNo, allowClosed: true }));
  }

  // 4. Convergence.
  const expectation = async (): Promise<string[]> => {
    const problems: string[] = [];
    const rows = await c.db
      .select()
      .from(orders)
      .where(
        inArray(
          orders.token,
          list.map((o) => o.token),
        ),
      );
    const byToken = new Map(rows.map((r) => [r.token, r]));
    const refundRows = await c.db.select().from(refunds);
    const succeededRefund = new Set(refundRows.filter((r) => r.status === 'succeeded').map((r) => r.outRefundNo));
    for (const o of list) {
      const row = byToken.get(o.token)!;
      const want = o.kind === 'pay' || o.kind === 'double' ? 'paid' : 'closed';
      if (row.status !== want) problems.push(`${o.kind} #${o.i} is ${row.status}, want ${want}`);
      if ((o.kind === 'late' || o.kind === 'double') && !succeededRefund.has(`LR${o.outTradeNo}`)) problems.push(`${o.kind} #${o.i} not refunded yet`);
    }
    const { unprocessed } = (
      await c.db.select({ unprocessed: sql<number>`count(*)::int` }).from(wechatpayNotifications).where(isNull(wechatpayNotifications.processedAt))
    )[0]!;
    if (unprocessed) problems.push(`${unprocessed} notifications unprocessed`);
    return problems;
  };
  let problems = await expectation();
  while (problems.length && Date.now() - started < CONVERGE_TIMEOUT_MS) {
    await sleep(1000);
    problems = await expectation();
  }
  const convergedMs = Date.now() - started;
  await fetch(`${c.simUrl}/_sim/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(problems, problems.slice(0, 10).join('\n')).toEqual([]);

  // 5. Exactly once: one paid transition, one order.paid outbox event per paid order.
  const paidTokens = list.filter((o) => o.kind === 'pay' || o.kind === 'double').map((o) => o.token);
  const paidOrders = await c.db.select().from(orders).where(inArray(orders.token, paidTokens));
  const ids = paidOrders.map((o) => o.id);
  const paidEvents = await c.db
    .select({ orderId: orderEvents.orderId, n: sql<number>`count(*)::int` })
    .from(orderEvents)
    .where(and(inArray(orderEvents.orderId, ids), eq(orderEvents.type, 'order.paid')))
    .groupBy(orderEvents.orderId);
  expect(paidEvents.length).toBe(ids.length);
  expect(paidEvents.every((e) => e.n === 1)).toBe(true);
  const outbox = await c.db
    .select({ orderId: outboxEvents.orderId, n: sql<number>`count(*)::int` })
    .from(outboxEvents)
    .where(and(inArray(outboxEvents.orderId, ids), eq(outboxEvents.topic, 'payment.succeeded')))
    .groupBy(outboxEvents.orderId);
  expect(outbox.length).toBe(ids.length);
  expect(outbox.every((e) => e.n === 1)).toBe(true);

  // Unpaid orders are closed at the simulator too.
  for (const o of list.filter((x) => x.kind === 'unpaid')) {
    const sim = await (await fetch(`${c.simUrl}/_sim/orders/${o.outTradeNo}`)).json();
    expect(JSON.stringify(sim), `#${o.i} at the simulator`).toMatch(/"trade_state":"CLOSED"/);
  }

  // Nothing dead-lettered: no test injected a poison job.
  const dead = await c.sql<{ n: number }[]>`select count(*)::int as n from pgboss.job where name like '%.dead'`;
  expect(dead[0]!.n).toBe(0);

  const via: Record<string, number> = {};
  for (const o of paidOrders) via[o.paidVia ?? 'unknown'] = (via[o.paidVia ?? 'unknown'] ?? 0) + 1;
  const notifications = await c.db.select({ deliveries: wechatpayNotifications.deliveries }).from(wechatpayNotifications);
  console.log(
    `[chaos] ${N} orders (${payers.length} paid, ${list.filter((o) => o.kind === 'unpaid').length} unpaid, ` +
      `${list.filter((o) => o.kind === 'late').length} late, ${list.filter((o) => o.kind === 'double').length} double) ` +
      `converged in ${(convergedMs / 1000).toFixed(1)} s; payments discovered by ${JSON.stringify(via)}; ` +
      `${notifications.length} notifications stored, ${notifications.reduce((n, r) => n + r.deliveries, 0)} deliveries received`,
  );
});
