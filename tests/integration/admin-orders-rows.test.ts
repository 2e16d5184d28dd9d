// What an orders list row says about an order's attempts (the shown out_trade_no: paid first, else the
// newest; the count; the late and double flags) on real Postgres, against a plain reference query, for
// orders covering every status, flag and filter; and the CSV export, walking several pages with one page
// fetched ahead, writes exactly the list's rows, formatted.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { closeDb, getDb } from '../helpers/db';
import { seedDemoCatalogue } from '@/db/seed';
import { consoleExports, orders, paymentAttempts } from '@/db/schema';
import { exportFile, ORDER_CSV_HEADER, orderCsvLine, runExport } from '@/server/console/exports';
import { listOrders, type OrderRow, type OrdersFilter } from '@/server/console/orders';
import { createOrder, insertAttempt } from '@/server/payments/orders';

type AttemptSpec = { status: 'created' | 'awaiting_payment' | 'paid' | 'closed'; late?: 'after_close' | 'double' };
type OrderSpec = {
  status: 'awaiting_payment' | 'paid' | 'closed' | 'refunded' | 'partially_refunded' | 'review';
  attempts: AttemptSpec[];
  via?: 'notify' | 'query' | 'shopper' | 'bill';
  mismatch?: boolean;
  refunded?: 'all' | 'half';
  description?: string;
};

// Each case its own minute, and each attempt its own second after it, in a window no other test file uses:
// every filter below is combined with that window, so rows made by other files never mix in.
const WINDOW_FROM = new Date(Date.UTC(2003, 4, 6, 0, 0, 0));
const WINDOW = { createdFrom: WINDOW_FROM, createdTo: new Date(WINDOW_FROM.getTime() + 86_400_000) };

const CASES: OrderSpec[] = [
  { status: 'awaiting_payment', attempts: [{ status: 'awaiting_payment' }] },
  { status: 'closed', attempts: [{ status: 'closed' }] },
  { status: 'paid', attempts: [{ status: 'paid' }], via: 'notify' },
  // The paid attempt is shown before a newer closed one, and the newest is shown when none is paid.
  { status: 'paid', attempts: [{ status: 'closed' }, { status: 'paid' }], via: 'query' },
  { status: 'paid', attempts: [{ status: 'paid' }, { status: 'closed' }], via: 'shopper' },
  { status: 'closed', attempts: [{ status: 'closed' }, { status: 'closed' }, { status: 'closed' }] },
  { status: 'paid', attempts: [{ status: 'closed', late: 'after_close' }, { status: 'paid' }], via: 'bill' },
  { status: 'paid', attempts: [{ status: 'paid' }, { status: 'paid', late: 'double' }], via: 'notify' },
  { status: 'review', attempts: [{ status: 'paid' }], via: 'notify', mismatch: true },
  {
    status: 'review',
    attempts: [
      { status: 'closed', late: 'after_close' },
      { status: 'paid', late: 'double' },
    ],
    via: 'query',
    mismatch: true,
  },
  { status: 'refunded', attempts: [{ status: 'paid' }], via: 'notify', refunded: 'all' },
  { status: 'partially_refunded', attempts: [{ status: 'closed' }, { status: 'paid' }], via: 'bill', refunded: 'half' },
  { status: 'paid', attempts: [{ status: 'paid' }], via: 'notify', description: '=HYPERLINK("http://evil"), "quoted"' },
];

const made: string[] = [];
const dataDir = mkdtempSync(path.join(tmpdir(), 'scanpay-export-rows-'));

beforeAll(async () => {
  const db = getDb();
  await seedDemoCatalogue(db);
  for (const [i, c] of CASES.entries()) {
    const at = (s: number) => new Date(WINDOW_FROM.getTime() + i * 60_000 + s * 1000);
    const o = await createOrder(db, { items: [{ productId: 'ceramic-mug', quantity: 1 + (i % 3) }], expireMinutes: 15, scale: 1, now: at(0) });
    const attemptIds = [o.attemptId];
    for (let k = 1; k < c.attempts.length; k++) {
      const a = await db.transaction((tx) =>
        insertAttempt(tx, { orderId: o.orderId, amountFen: o.amountFen, description: 'x' }, { expireMinutes: 15, scale: 1, now: at(k) }),
      );
      attemptIds.push(a.id);
    }
    for (const [k, a] of c.attempts.entries()) {
      const paid = a.status === 'paid';
      await db
        .update(paymentAttempts)
        .set({
          status: a.status,
          latePayment: a.late ?? null,
          transactionId: paid ? `42${String(i * 10 + k).padStart(26, '0')}` : null,
          paidAt: paid ? at(k + 30) : null,
        })
        .where(eq(paymentAttempts.id, attemptIds[k]!));
    }
    const paidAttempt = c.attempts.findIndex((a) => a.status === 'paid');
    await db
      .update(orders)
      .set({
        status: c.status,
        paidVia: c.via ?? null,
        paidAt: paidAttempt >= 0 ? at(paidAttempt + 30) : null,
        transactionId: paidAttempt >= 0 ? `42${String(i * 10 + paidAttempt).padStart(26, '0')}` : null,
        reviewReason: c.mismatch ? 'mismatch' : null,
        refundedFen: c.refunded === 'all' ? o.amountFen : c.refunded === 'half' ? Math.floor(o.amountFen / 2) : 0,
        ...(c.description ? { description: c.description } : {}),
      })
      .where(eq(orders.id, o.orderId));
    made.push(o.orderId);
  }
});
afterAll(() => closeDb());

/** Every row of a filter, walking keyset pages of `limit`. */
async function allRows(f: OrdersFilter, limit: number): Promise<OrderRow[]> {
  const out: OrderRow[] = [];
  let cursor: { createdAt: Date; id: string } | undefined;
  for (;;) {
    const page = await listOrders(getDb(), f, { cursor, limit });
    out.push(...page.rows);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
}

test("a row's attempt facts are those of its attempts: paid first else newest, count, late, double, mismatch", async () => {
  const reference = await getDb().execute<{ id: string; out_trade_no: string | null; attempts: number; flags: string[] }>(sql`
    select o.id,
           (array_agg(pa.out_trade_no order by (pa.status = 'paid') desc, pa.created_at desc))[1] as out_trade_no,
           count(pa.id)::int as attempts,
           array_remove(array[
             case when o.review_reason = 'mismatch' then 'mismatch' end,
             case when bool_or(pa.late_payment = 'after_close') then 'late' end,
             case when bool_or(pa.late_payment = 'double') then 'double' end
           ], null) as flags
    from orders o left join payment_attempts pa on pa.order_id = o.id
    where o.id = any(${`{${made.join(',')}}`}::uuid[])
    group by o.id`);
  const rows = await allRows(WINDOW, 3);
  expect(rows.map((r) => r.id).sort()).toEqual([...made].sort());
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const ref of reference) {
    const row = byId.get(ref.id)!;
    expect({ outTradeNo: row.outTradeNo, attempts: row.attempts, flags: row.flags }, ref.id).toEqual({
      outTradeNo: ref.out_trade_no,
      attempts: ref.attempts,
      flags: ref.flags,
    });
  }
  // The cases above exercise each branch: several attempts, a shown paid attempt older than a closed one.
  expect(rows.filter((r) => r.attempts > 1).length).toBeGreaterThanOrEqual(6);
  expect(new Set(rows.flatMap((r) => r.flags))).toEqual(new Set(['late', 'double', 'mismatch']));
});

const FILTERS: Array<[string, OrdersFilter]> = [
  ['no filter', {}],
  ...(['awaiting_payment', 'paid', 'closed', 'refunded', 'partially_refunded', 'review'] as const).map((s): [string, OrdersFilter] => [s, { status: [s] }]),
  ...(['late', 'double', 'mismatch'] as const).map((f): [string, OrdersFilter] => [`flag ${f}`, { flags: [f] }]),
  ['late or double', { flags: ['late', 'double'] }],
  ...(['notify', 'query', 'shopper', 'bill'] as const).map((v): [string, OrdersFilter] => [`via ${v}`, { learnedVia: [v] }]),
  ['paid in the window', { paidFrom: WINDOW_FROM, paidTo: WINDOW.createdTo }],
  ['amount from ¥100', { amountMinFen: 10_000 }],
  ['amount up to ¥100', { amountMaxFen: 10_000 }],
];

test.each(FILTERS)('the export of %s writes the list rows of that filter, formatted, across pages', async (_name, filter) => {
  const db = getDb();
  const f = { ...filter, ...WINDOW };
  const [job] = await db
    .insert(consoleExports)
    .values({ kind: 'orders', filter: JSON.parse(JSON.stringify(f)), createdBy: 'tester' })
    .returning({ id: consoleExports.id });
  const expected = await allRows(f, 50);
  // Pages of 2: several pages, each fetched while the previous one is written.
  expect(await runExport(db, job!.id, { dataDir, maxRows: 100, linkHours: 1, batchRows: 2 })).toBe(`done ${expected.length}`);
  const text = readFileSync(exportFile(dataDir, job!.id), 'utf8');
  expect(text).toBe(`\uFEFF${[ORDER_CSV_HEADER.join(','), ...expected.map(orderCsvLine)].join('\r\n')}\r\n`);
});

test('every filter above matches some of the seeded orders', async () => {
  for (const [name, filter] of FILTERS) expect((await allRows({ ...filter, ...WINDOW }, 50)).length, name).toBeGreaterThan(0);
});
