// Saved views of the orders list, shared with the team (anyone with orders:view sees them all).
import { desc, eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { consoleSavedViews } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';

/** Only the list's own filter parameters survive (never a cursor or anything else). */
const KEEP = new Set(['q', 'status', 'via', 'flags', 'createdFrom', 'createdTo', 'paidFrom', 'paidTo', 'min', 'max']);
export function cleanQuery(query: string): string {
  const params = new URLSearchParams(query.replace(/^\?/, ''));
  const out = new URLSearchParams();
  for (const [k, v] of params) if (KEEP.has(k) && v.length <= 200) out.append(k, v);
  return out.toString();
}

export function listSavedViews(db: DbOrTx) {
  return db.select().from(consoleSavedViews).orderBy(desc(consoleSavedViews.createdAt)).limit(100);
}

export async function saveView(db: DbOrTx, actor: AuditActor & { id: string }, name: string, query: string) {
  const [row] = await db
    .insert(consoleSavedViews)
    .values({ name, query: cleanQuery(query), createdBy: actor.id, createdByEmail: actor.email ?? '' })
    .returning();
  await appendAudit(db, actor, { action: 'view.save', objectType: 'saved_view', objectId: row!.id, after: { name, query: row!.query } });
  return row!;
}

export async function deleteView(db: DbOrTx, actor: AuditActor, id: string, mayDeleteOthers: boolean) {
  const [row] = await db.select().from(consoleSavedViews).where(eq(consoleSavedViews.id, id));
  if (!row) throw new AppError('NOT_FOUND', 'No such view.');
  if (row.createdBy !== actor.id && !mayDeleteOthers) throw new AppError('BAD_REQUEST', 'Only its author or an admin can delete this view.');
  await db.delete(consoleSavedViews).where(eq(consoleSavedViews.id, id));
  await appendAudit(db, actor, { action: 'view.delete', objectType: 'saved_view', objectId: id, before: { name: row.name, query: row.query } });
}
