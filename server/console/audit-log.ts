// The audit log as the console filters and exports it. Dates are Beijing days (`YYYY-MM-DD`, the
// console's zone whatever the browser's); the export writes the same filter's entries, newest first.
import { and, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { auditLog } from '@/db/schema';
import { listAudit } from '@/server/auth/audit';
import { bj, csvCell, utc, type ExportSource } from './csv';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'DAY_INVALID');
const text = (max: number) => z.string().trim().max(max).optional();

export const AuditFilterSchema = z
  .object({
    actor: text(200),
    action: text(100),
    objectType: text(50),
    objectId: text(100),
    /** First Beijing day included. */
    fromDay: day.optional(),
    /** Last Beijing day included. */
    toDay: day.optional(),
  })
  .refine((f) => !f.fromDay || !f.toDay || f.fromDay <= f.toDay, { message: 'DAY_RANGE', path: ['toDay'] });
export type AuditLogFilter = z.infer<typeof AuditFilterSchema>;

// Beijing has had no daylight saving since 1991: a day there is [00:00+08:00, next 00:00+08:00).
const dayStart = (d: string) => new Date(`${d}T00:00:00+08:00`);
const dayEnd = (d: string) => new Date(dayStart(d).getTime() + 86_400_000);

/** The filter as listAudit takes it: `from` inclusive, `to` exclusive. */
export function auditQuery(f: AuditLogFilter) {
  return {
    actor: f.actor || undefined,
    action: f.action || undefined,
    objectType: f.objectType || undefined,
    objectId: f.objectId || undefined,
    from: f.fromDay ? dayStart(f.fromDay) : undefined,
    to: f.toDay ? dayEnd(f.toDay) : undefined,
  };
}

function where(f: AuditLogFilter): SQL | undefined {
  const q = auditQuery(f);
  const w: SQL[] = [];
  if (q.actor) w.push(eq(auditLog.actorEmail, q.actor));
  if (q.action) w.push(eq(auditLog.action, q.action));
  if (q.objectType) w.push(eq(auditLog.objectType, q.objectType));
  if (q.objectId) w.push(eq(auditLog.objectId, q.objectId));
  if (q.from) w.push(gte(auditLog.at, q.from));
  if (q.to) w.push(lt(auditLog.at, q.to));
  return w.length ? and(...w) : undefined;
}

export const AUDIT_CSV_HEADER = [
  'entry_id',
  'at_beijing',
  'at_utc',
  'actor_email',
  'actor_role',
  'ip',
  'user_agent',
  'action',
  'object_type',
  'object_id',
  'before',
  'after',
  'reason',
  'two_factor_fresh',
  'prev_hash',
  'hash',
] as const;

type Entry = Awaited<ReturnType<typeof listAudit>>['rows'][number];
const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

function auditLine(e: Entry): string {
  return [
    e.id,
    csvCell(bj(e.at)),
    csvCell(utc(e.at)),
    csvCell(e.actorEmail),
    csvCell(e.actorRole),
    csvCell(e.ip),
    csvCell(e.userAgent),
    csvCell(e.action),
    csvCell(e.objectType),
    csvCell(e.objectId),
    csvCell(json(e.before)),
    csvCell(json(e.after)),
    csvCell(e.reason),
    e.twoFactorFresh ? 'true' : 'false',
    csvCell(e.prevHash),
    csvCell(e.hash),
  ].join(',');
}

const BATCH = 1000;

export function auditExportSource(db: DbOrTx, filter: AuditLogFilter, batch = BATCH): ExportSource {
  return {
    header: AUDIT_CSV_HEADER,
    async count(cap) {
      const inner = db
        .select({ one: sql`1` })
        .from(auditLog)
        .where(where(filter))
        .limit(cap + 1)
        .as('capped');
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(inner);
      const n = row?.n ?? 0;
      return { count: Math.min(n, cap), capped: n > cap };
    },
    async *batches() {
      let before: number | undefined;
      for (;;) {
        const page = await listAudit(db, { ...auditQuery(filter), before, limit: batch });
        if (page.rows.length) yield page.rows.map(auditLine);
        if (!page.nextCursor) return;
        before = page.nextCursor;
      }
    },
  };
}
