// CSV exports of the orders list and the audit log: requested from the console (audited, step-up), produced by a job that
// walks the filter by keyset in batches (bounded memory) into DATA_DIR/exports/<id>.csv, with progress in
// console_exports. UTF-8 with BOM and CRLF (Excel opens Chinese correctly); amounts in yuan and in fen;
// times in Beijing and UTC; ids quoted as text; a formula guard on every cell; an explicit failure above
// EXPORT_MAX_ROWS, never a silent cut.
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { consoleExports } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import { QUEUE } from '@/server/queue/catalogue';
import { enqueue } from '@/server/queue/enqueue';
import { AuditFilterSchema, auditExportSource, type AuditLogFilter } from './audit-log';
import { bj, csvCell, type ExportSource, utc, yuan } from './csv';
import { countOrders, listOrders, OrdersFilterSchema, type OrderRow, type OrdersFilter } from './orders';

export { csvCell } from './csv';

const BATCH = 2000;
const PROGRESS_EVERY = 10_000;

/** The stored filter: OrdersFilter with its dates as ISO strings. */
const StoredFilter = OrdersFilterSchema.extend({
  createdFrom: z.coerce.date().optional(),
  createdTo: z.coerce.date().optional(),
  paidFrom: z.coerce.date().optional(),
  paidTo: z.coerce.date().optional(),
});

export const exportFile = (dataDir: string, id: string) => path.resolve(/*turbopackIgnore: true*/ dataDir, 'exports', `${id}.csv`);

export type ExportKind = 'orders' | 'audit';

async function requestExport(db: Db, actor: AuditActor, kind: ExportKind, filter: unknown): Promise<{ id: string }> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(consoleExports)
      .values({ kind, filter: JSON.parse(JSON.stringify(filter)), createdBy: actor.id ?? 'system' })
      .returning({ id: consoleExports.id });
    await enqueue(tx, QUEUE.consoleExport, { version: 1, exportId: row!.id }, { id: row!.id });
    await appendAudit(tx, actor, { action: 'export.request', objectType: 'export', objectId: row!.id, after: { kind, filter } });
    return { id: row!.id };
  });
}

export function requestOrdersExport(db: Db, actor: AuditActor, filter: OrdersFilter): Promise<{ id: string }> {
  return requestExport(db, actor, 'orders', filter);
}

/** The audit log as filtered; exporting it is itself an audit entry (export.request, then export.download). */
export function requestAuditExport(db: Db, actor: AuditActor, filter: AuditLogFilter): Promise<{ id: string }> {
  return requestExport(db, actor, 'audit', filter);
}

/** The permission a kind of export needs to be read (progress, download). */
export const EXPORT_PERMISSION = { orders: 'orders:view', audit: 'audit:view' } as const;

export async function getExport(db: Db, id: string, userId: string) {
  const [row] = await db
    .select()
    .from(consoleExports)
    .where(and(eq(consoleExports.id, id), eq(consoleExports.createdBy, userId)));
  return row ?? null;
}

export async function listExports(db: Db, userId: string) {
  return db.select().from(consoleExports).where(eq(consoleExports.createdBy, userId)).orderBy(desc(consoleExports.createdAt)).limit(20);
}

export const ORDER_CSV_HEADER = [
  'order_id',
  'created_at_beijing',
  'created_at_utc',
  'paid_at_beijing',
  'paid_at_utc',
  'amount_yuan',
  'amount_fen',
  'refunded_yuan',
  'refunded_fen',
  'net_yuan',
  'net_fen',
  'status',
  'learned_via',
  'out_trade_no',
  'transaction_id',
  'description',
  'attempts',
  'flags',
];

/** One order as a CSV line (no line end). */
export function orderCsvLine(r: OrderRow): string {
  // An array joined, not a template: a template of 36 parts leaves a rope of small strings per row for
  // the collector (twice the GC time of the export in a CPU profile).
  return [
    csvCell(r.id),
    csvCell(bj(r.createdAt)),
    csvCell(utc(r.createdAt)),
    csvCell(bj(r.paidAt)),
    csvCell(utc(r.paidAt)),
    yuan(r.amountFen),
    r.amountFen,
    yuan(r.refundedFen),
    r.refundedFen,
    yuan(r.netFen),
    r.netFen,
    csvCell(r.status),
    csvCell(r.paidVia),
    csvCell(r.outTradeNo),
    csvCell(r.transactionId),
    csvCell(r.description),
    r.attempts,
    csvCell(r.flags.join(' ')),
  ].join(',');
}

type OrdersPage = Awaited<ReturnType<typeof listOrders>>;

function ordersExportSource(db: Db, filter: OrdersFilter, batch: number): ExportSource {
  return {
    header: ORDER_CSV_HEADER,
    count: (cap) => countOrders(db, filter, cap),
    async *batches() {
      // One page fetched ahead: Postgres reads page N+1 while this process formats and writes page N (the
      // two used to take turns, and each waited for the other half the time). Never more than one page
      // in flight, so memory stays bounded by two pages.
      let next: Promise<OrdersPage> | null = listOrders(db, filter, { limit: batch });
      while (next) {
        const page: OrdersPage = await next;
        next = page.nextCursor ? listOrders(db, filter, { cursor: page.nextCursor, limit: batch }) : null;
        if (next) {
          // Nobody awaits it if the writer fails first: keep its rejection handled.
          next.catch(() => {});
          // postgres.js holds a write shorter than 1 KB for a setImmediate queued as the query starts; the
          // formatting below holds the event loop, so wait one turn past that immediate (an immediate queued
          // from an immediate runs on the next turn) to have the query on its way to Postgres meanwhile.
          await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
        }
        if (page.rows.length) yield page.rows.map(orderCsvLine);
      }
    },
  };
}

function sourceFor(db: Db, kind: string, filter: unknown, batchRows: number | undefined): ExportSource {
  if (kind === 'audit') return auditExportSource(db, AuditFilterSchema.parse(filter), batchRows);
  if (kind === 'orders') return ordersExportSource(db, StoredFilter.parse(filter), batchRows ?? BATCH);
  throw new Error(`unknown export kind ${kind}`);
}

const WRITE_BUFFER_BYTES = 1 << 20;

/**
 * CSV lines (each ended with CRLF) into a file through one reused buffer. A page joined into one string
 * and handed to a write stream made, per page, a half-megabyte string and a Buffer of it outside the heap,
 * garbage the collector let pile up: most of the export's peak RSS (docs/benchmarks.md, the console export).
 */
async function openLineWriter(file: string) {
  const fh = await open(file, 'w');
  const buf = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  let used = 0;
  const flush = async () => {
    for (let at = 0; at < used; ) at += (await fh.write(buf, at, used - at)).bytesWritten;
    used = 0;
  };
  /** Appends a line if it surely fits (UTF-8 takes at most 3 bytes per UTF-16 unit); false: use line(). */
  const put = (line: string): boolean => {
    if (used + line.length * 3 + 2 > buf.length) return false;
    used += buf.write(line, used);
    buf[used++] = 13;
    buf[used++] = 10;
    return true;
  };
  return {
    put,
    /** Appends any line: flushes first, and writes one longer than the buffer straight to the file. */
    async line(line: string): Promise<void> {
      await flush();
      if (!put(line)) await fh.write(`${line}\r\n`);
    },
    async close(): Promise<void> {
      await flush();
      await fh.close();
    },
    async abandon(): Promise<void> {
      await fh.close().catch(() => {});
    },
  };
}

/** The job: writes the file (to a temp name, renamed when complete) and keeps the progress row current. */
export async function runExport(
  db: Db,
  exportId: string,
  /** `batchRows`: rows per page read (tests: several pages of a few rows); the source's own size by default. */
  opts: { dataDir: string; maxRows: number; linkHours: number; batchRows?: number },
): Promise<string> {
  const [job] = await db.select().from(consoleExports).where(eq(consoleExports.id, exportId));
  if (!job) return 'missing';
  if (job.status === 'done') return 'done';
  const source = sourceFor(db, job.kind, job.filter, opts.batchRows);
  const { count, capped } = await source.count(opts.maxRows);
  if (capped) {
    await db
      .update(consoleExports)
      .set({ status: 'failed', error: `ROW_CAP: more than ${opts.maxRows} rows match; narrow the filter`, finishedAt: new Date() })
      .where(eq(consoleExports.id, exportId));
    return 'row_cap';
  }
  await db.update(consoleExports).set({ status: 'running', rowsTotal: count, rowsDone: 0 }).where(eq(consoleExports.id, exportId));
  const final = exportFile(opts.dataDir, exportId);
  const temp = `${final}.part`;
  mkdirSync(path.dirname(final), { recursive: true });
  const out = await openLineWriter(temp);
  let done = 0;
  try {
    await out.line(`\uFEFF${source.header.join(',')}`);
    for await (const lines of source.batches()) {
      for (const line of lines) if (!out.put(line)) await out.line(line);
      const before = Math.floor(done / PROGRESS_EVERY);
      done += lines.length;
      if (Math.floor(done / PROGRESS_EVERY) !== before) await db.update(consoleExports).set({ rowsDone: done }).where(eq(consoleExports.id, exportId));
    }
    await out.close();
    renameSync(temp, final);
  } catch (err) {
    await out.abandon();
    rmSync(temp, { force: true });
    throw err;
  }
  await db
    .update(consoleExports)
    .set({ status: 'done', rowsDone: done, finishedAt: new Date(), expiresAt: new Date(Date.now() + opts.linkHours * 3_600_000) })
    .where(eq(consoleExports.id, exportId));
  return `done ${done}`;
}

/** For the download route: the finished file of the caller's own export, if the link has not expired. */
export async function downloadableExport(db: Db, id: string, userId: string, dataDir: string, now = new Date()): Promise<string> {
  const row = await getExport(db, id, userId);
  if (row?.status !== 'done') throw new AppError('NOT_FOUND', 'No such export.');
  if (!row.expiresAt || row.expiresAt <= now) throw new AppError('NOT_FOUND', 'This download link has expired.');
  return exportFile(dataDir, id);
}
