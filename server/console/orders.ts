// The console's orders list: one search box that recognises every id kind, filters, keyset pages on
// (created_at, id) and a capped count ("10,000+") with the exact count on demand.
import { and, eq, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { orders, paymentAttempts, refunds } from '@/db/schema';
import { COUNT_CAP, FLAGS, LEARNED_VIA, ORDER_STATUSES, recogniseSearch, type RecognisedSearch } from './orders-shared';

export * from './orders-shared';

export const OrdersFilterSchema = z.object({
  q: z.string().trim().max(200).optional(),
  status: z.array(z.enum(ORDER_STATUSES)).max(ORDER_STATUSES.length).optional(),
  createdFrom: z.date().optional(),
  createdTo: z.date().optional(),
  paidFrom: z.date().optional(),
  paidTo: z.date().optional(),
  learnedVia: z.array(z.enum(LEARNED_VIA)).max(LEARNED_VIA.length).optional(),
  flags: z.array(z.enum(FLAGS)).max(FLAGS.length).optional(),
  amountMinFen: z.number().int().min(0).optional(),
  amountMaxFen: z.number().int().min(0).optional(),
});
export type OrdersFilter = z.infer<typeof OrdersFilterSchema>;

export const CursorSchema = z.object({ createdAt: z.date(), id: z.uuid() });

// Each id kind finds its orders' ids first (an init plan over a unique or partial index), then the list reads
// those orders by primary key: `id = any(array(...))`. An `id in (subquery) or ...` would instead make
// Postgres walk the whole list index testing every order (docs/benchmarks-console.md shows both plans).
const idsFrom = (subquery: SQL): SQL => sql`${orders.id} = any(array(${subquery}))`;
const attemptsBy = (column: 'out_trade_no' | 'transaction_id', value: string) =>
  sql`select ${paymentAttempts.orderId} from ${paymentAttempts} where ${sql.raw(`"payment_attempts"."${column}"`)} = ${value}`;
const refundsBy = (value: string) =>
  sql`select ${refunds.orderId} from ${refunds} where ${refunds.outRefundNo} = ${value} union select ${refunds.orderId} from ${refunds} where ${refunds.refundId} = ${value}`;

function searchCondition(s: RecognisedSearch): SQL {
  switch (s.kind) {
    case 'order_id':
      return eq(orders.id, s.value);
    case 'transaction_id':
      return idsFrom(sql`select ${orders.id} from ${orders} where ${orders.transactionId} = ${s.value} union ${attemptsBy('transaction_id', s.value)}`);
    case 'out_trade_no':
      return idsFrom(attemptsBy('out_trade_no', s.value));
    case 'refund':
      return idsFrom(refundsBy(s.value));
    case 'token':
      return eq(orders.token, s.value);
    case 'amount':
      return eq(orders.amountFen, s.amountFen!);
    case 'text':
      // Anything else: an exact out_trade_no / refund number of another shape, else nothing.
      return idsFrom(sql`${attemptsBy('out_trade_no', s.value)} union ${refundsBy(s.value)}`);
  }
}

function conditions(f: OrdersFilter): { where: SQL[]; search: RecognisedSearch | null } {
  const where: SQL[] = [];
  const search = f.q ? recogniseSearch(f.q) : null;
  if (search) where.push(searchCondition(search));
  if (f.status?.length) where.push(inArray(orders.status, f.status));
  if (f.createdFrom) where.push(gte(orders.createdAt, f.createdFrom));
  if (f.createdTo) where.push(lt(orders.createdAt, f.createdTo));
  if (f.paidFrom) where.push(gte(orders.paidAt, f.paidFrom));
  if (f.paidTo) where.push(lt(orders.paidAt, f.paidTo));
  if (f.learnedVia?.length) where.push(inArray(orders.paidVia, f.learnedVia));
  if (f.amountMinFen !== undefined) where.push(gte(orders.amountFen, f.amountMinFen));
  if (f.amountMaxFen !== undefined) where.push(lte(orders.amountFen, f.amountMaxFen));
  const flagConds: SQL[] = [];
  for (const flag of f.flags ?? []) {
    if (flag === 'mismatch') flagConds.push(eq(orders.reviewReason, 'mismatch'));
    else {
      const kind = flag === 'late' ? 'after_close' : 'double';
      // The flagged orders' ids first (late and double payments are rare: payment_attempts_late_idx), then
      // those orders: as a correlated EXISTS the planner walked every order newest first and probed the index
      // for each (352,217 probes, 720 ms p95 on 1,000,000 orders; docs/benchmarks-console.md).
      flagConds.push(sql`${orders.id} = any(array(select ${paymentAttempts.orderId} from ${paymentAttempts} where ${paymentAttempts.latePayment} = ${kind}))`);
    }
  }
  if (flagConds.length) where.push(or(...flagConds)!);
  return { where, search };
}

/**
 * `"orders"."id"` spelled out: inside a correlated subquery drizzle may render the outer column unqualified,
 * which then resolves to the inner table's own `id`.
 */
const OUTER_ORDER_ID = sql.raw('"orders"."id"');

/**
 * What a list row needs of the order's attempts, in one lateral probe of payment_attempts_order_idx per
 * row (instead of one subquery per column): how many there are, whether any was a late or a double payment,
 * and, for the nine orders in ten that have a single attempt, that attempt's out_trade_no. Plain aggregates
 * only: an ordered one (`array_agg(... order by ...)`) puts a Sort under every row's probe, which made
 * the export of a million orders spend about half its database time sorting one-row groups
 * (docs/benchmarks.md, the console export).
 */
function attemptFacts(db: DbOrTx) {
  return db
    .select({
      attempts: sql<number>`count(*)::int`.as('af_attempts'),
      onlyOutTradeNo: sql<string | null>`min(${paymentAttempts.outTradeNo})`.as('af_only_out_trade_no'),
      late: sql<boolean>`coalesce(bool_or(${paymentAttempts.latePayment} = 'after_close'), false)`.as('af_late'),
      double: sql<boolean>`coalesce(bool_or(${paymentAttempts.latePayment} = 'double'), false)`.as('af_double'),
    })
    .from(paymentAttempts)
    .where(sql`${paymentAttempts.orderId} = ${OUTER_ORDER_ID}`)
    .as('af');
}

/**
 * The attempt a row shows: the paid one first, else the newest. With one attempt that is the one the
 * lateral already read; only orders with several attempts pay for a second, sorted, probe (CASE runs the
 * subquery only in the branch taken).
 */
function shownOutTradeNo(af: ReturnType<typeof attemptFacts>): SQL<string | null> {
  return sql<string | null>`case when ${af.attempts} > 1 then (
    select pa.out_trade_no from payment_attempts pa where pa.order_id = ${OUTER_ORDER_ID}
    order by (pa.status = 'paid') desc, pa.created_at desc limit 1
  ) else ${af.onlyOutTradeNo} end`;
}

function listColumns(af: ReturnType<typeof attemptFacts>) {
  return {
    id: orders.id,
    createdAt: orders.createdAt,
    paidAt: orders.paidAt,
    amountFen: orders.amountFen,
    refundedFen: orders.refundedFen,
    status: orders.status,
    paidVia: orders.paidVia,
    reviewReason: orders.reviewReason,
    transactionId: orders.transactionId,
    description: orders.description,
    outTradeNo: shownOutTradeNo(af).as('out_trade_no'),
    attempts: af.attempts,
    flags: sql<string[]>`array_remove(array[
      case when ${orders.reviewReason} = 'mismatch' then 'mismatch' end,
      case when ${af.late} then 'late' end,
      case when ${af.double} then 'double' end
    ], null)`.as('flags'),
  };
}

export type OrderRow = {
  id: string;
  createdAt: Date;
  paidAt: Date | null;
  amountFen: number;
  refundedFen: number;
  netFen: number;
  status: (typeof ORDER_STATUSES)[number];
  paidVia: string | null;
  reviewReason: string | null;
  transactionId: string | null;
  description: string;
  outTradeNo: string | null;
  attempts: number;
  flags: string[];
};

/** A list row as the driver returns it (the column names of listColumns). */
interface RawRow extends Record<string, unknown> {
  id: string;
  created_at: string;
  paid_at: string | null;
  amount_fen: number;
  refunded_fen: number;
  status: OrderRow['status'];
  paid_via: string | null;
  review_reason: string | null;
  transaction_id: string | null;
  description: string;
  out_trade_no: string | null;
  af_attempts: number;
  flags: string[] | null;
}

function toOrderRow(r: RawRow): OrderRow {
  return {
    id: r.id,
    createdAt: new Date(r.created_at),
    paidAt: r.paid_at === null ? null : new Date(r.paid_at),
    amountFen: r.amount_fen,
    refundedFen: r.refunded_fen,
    status: r.status,
    paidVia: r.paid_via,
    reviewReason: r.review_reason,
    transactionId: r.transaction_id,
    description: r.description,
    outTradeNo: r.out_trade_no,
    attempts: r.af_attempts,
    flags: r.flags ?? [],
    netFen: r.amount_fen - r.refunded_fen,
  };
}

export async function listOrders(
  db: DbOrTx,
  f: OrdersFilter,
  page: { cursor?: z.infer<typeof CursorSchema>; limit: number },
): Promise<{ rows: OrderRow[]; nextCursor: { createdAt: Date; id: string } | null; search: RecognisedSearch | null }> {
  const { where, search } = conditions(f);
  if (page.cursor) where.push(sql`(${orders.createdAt}, ${orders.id}) < (${page.cursor.createdAt.toISOString()}::timestamptz, ${page.cursor.id}::uuid)`);
  const af = attemptFacts(db);
  const query = db
    .select(listColumns(af))
    .from(orders)
    .leftJoinLateral(af, sql`true`)
    .where(where.length ? and(...where) : undefined)
    // NULLS LAST as the list indexes are declared (drizzle's .desc()); plain DESC means NULLS FIRST, which
    // no index here serves, and Postgres then sorts instead of reading the index in order.
    .orderBy(sql`${orders.createdAt} desc nulls last`, sql`${orders.id} desc nulls last`)
    .limit(page.limit + 1);
  // Drizzle builds the statement; the rows are mapped here, once per row, rather than by drizzle's generic
  // mapper (an entity check per column per row: a sixth of an export's CPU, which pages this list a million
  // rows at a time; docs/benchmarks.md, the console export). Timestamps arrive as text, as drizzle has the
  // driver leave them.
  const rows = await db.execute<RawRow>(query.getSQL());
  const more = rows.length > page.limit;
  const n = more ? page.limit : rows.length;
  const pageRows: OrderRow[] = new Array(n);
  for (let i = 0; i < n; i++) pageRows[i] = toOrderRow(rows[i]!);
  const last = pageRows.at(-1);
  return { rows: pageRows, nextCursor: more && last ? { createdAt: last.createdAt, id: last.id } : null, search };
}

/** Up to `cap` + 1 matching rows counted (the UI says "10,000+"); `cap` null counts them all. */
export async function countOrders(db: DbOrTx, f: OrdersFilter, cap: number | null = COUNT_CAP): Promise<{ count: number; capped: boolean }> {
  const { where } = conditions(f);
  const w = where.length ? and(...where) : undefined;
  if (cap === null) {
    const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(orders).where(w);
    return { count: row?.n ?? 0, capped: false };
  }
  const inner = db
    .select({ one: sql`1` })
    .from(orders)
    .where(w)
    .limit(cap + 1)
    .as('capped');
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(inner);
  const n = row?.n ?? 0;
  return { count: Math.min(n, cap), capped: n > cap };
}
