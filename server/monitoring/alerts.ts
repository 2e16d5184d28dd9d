// The one owner of an alert's state: open → acknowledged → resolved, each change in alert_history, and
// `alert.opened` / `alert.resolved` in the outbox (webhooks route them to WeCom or a pager). Producers
// elsewhere only insert rows (state defaults to open); the watchlists raise and resolve through here.
import { and, desc, eq, inArray, isNotNull, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx, Tx } from '@/db/client';
import { alertHistory, alerts } from '@/db/schema';
import { appendAudit, type AuditActor } from '@/server/auth/audit';
import { AppError } from '@/server/errors';
import { writeOutboxEvent } from '@/server/outbox/write';

export type AlertState = 'open' | 'acknowledged' | 'resolved';
export type AlertRow = typeof alerts.$inferSelect;

export interface Finding {
  /** Identity of the condition: one unresolved alert per key. */
  key: string;
  kind: string;
  message: string;
  orderId?: string | null;
  data?: Record<string, unknown>;
}

const SYSTEM = 'system';

function payload(a: AlertRow) {
  return { alertId: a.id, kind: a.kind, ruleKey: a.ruleKey, orderId: a.orderId, message: a.message, data: a.data, state: a.state };
}

/** Raises a finding unless an unresolved alert of its key exists. Returns the new alert, or null. */
export async function raiseAlert(tx: Tx, f: Finding): Promise<AlertRow | null> {
  const [row] = await tx
    .insert(alerts)
    .values({ kind: f.kind, ruleKey: f.key, orderId: f.orderId ?? null, message: f.message, data: f.data ?? {} })
    .onConflictDoNothing({ target: alerts.ruleKey, where: sql`${alerts.ruleKey} is not null and ${alerts.state} <> 'resolved'` })
    .returning();
  if (!row) return null;
  await tx.insert(alertHistory).values({ alertId: row.id, fromState: null, toState: 'open', actor: SYSTEM });
  await writeOutboxEvent(tx, { topic: 'alert.opened', orderId: row.orderId, dedupeKey: `alert.opened:${row.id}`, payload: payload(row) });
  return row;
}

async function moveTo(tx: Tx, id: number, to: AlertState, from: readonly AlertState[], actor: string, note: string | null): Promise<AlertRow | null> {
  const now = new Date();
  const patch = to === 'resolved' ? { resolvedAt: now } : to === 'acknowledged' ? { acknowledgedAt: now, acknowledgedBy: actor } : {};
  const [before] = await tx.select({ state: alerts.state }).from(alerts).where(eq(alerts.id, id)).for('update');
  const [row] = await tx
    .update(alerts)
    .set({ ...patch, state: to, updatedAt: now })
    .where(and(eq(alerts.id, id), inArray(alerts.state, [...from])))
    .returning();
  if (!row) return null;
  await tx.insert(alertHistory).values({ alertId: id, fromState: before?.state ?? null, toState: to, actor, note });
  if (to === 'resolved') {
    await writeOutboxEvent(tx, { topic: 'alert.resolved', orderId: row.orderId, dedupeKey: `alert.resolved:${row.id}`, payload: payload(row) });
  }
  return row;
}

/** The watchlist no longer finds the condition. */
export async function resolveAlertBySystem(tx: Tx, id: number, note: string): Promise<AlertRow | null> {
  return moveTo(tx, id, 'resolved', ['open', 'acknowledged'], SYSTEM, note);
}

/** A person has seen it (audited). */
export async function acknowledgeAlert(db: Db, actor: AuditActor, id: number, note: string | null): Promise<AlertRow> {
  return db.transaction(async (tx) => {
    const row = await moveTo(tx, id, 'acknowledged', ['open'], actor.id ?? SYSTEM, note);
    if (!row) throw new AppError('CONFLICT', 'This alert is not open any more.');
    await appendAudit(tx, actor, { action: 'alert.acknowledge', objectType: 'alert', objectId: String(id), after: { state: 'acknowledged' }, reason: note });
    return row;
  });
}

/** A person closes it (audited). A watchlist alert whose condition persists is raised again. */
export async function resolveAlert(db: Db, actor: AuditActor, id: number, note: string | null): Promise<AlertRow> {
  return db.transaction(async (tx) => {
    const row = await moveTo(tx, id, 'resolved', ['open', 'acknowledged'], actor.id ?? SYSTEM, note);
    if (!row) throw new AppError('CONFLICT', 'This alert is already resolved.');
    await appendAudit(tx, actor, { action: 'alert.resolve', objectType: 'alert', objectId: String(id), after: { state: 'resolved' }, reason: note });
    return row;
  });
}

export async function unresolvedAlerts(db: DbOrTx, limit = 200): Promise<AlertRow[]> {
  return db.select().from(alerts).where(ne(alerts.state, 'resolved')).orderBy(desc(alerts.id)).limit(limit);
}

export async function recentAlerts(db: DbOrTx, limit = 200): Promise<AlertRow[]> {
  return db.select().from(alerts).orderBy(desc(alerts.id)).limit(limit);
}

/** For the console banner: how many are open (unacknowledged) and unresolved. */
export async function alertCounts(db: DbOrTx): Promise<{ open: number; unresolved: number }> {
  const [r] = await db
    .select({ open: sql<number>`count(*) filter (where ${alerts.state} = 'open')::int`, unresolved: sql<number>`count(*)::int` })
    .from(alerts)
    .where(ne(alerts.state, 'resolved'));
  return { open: r?.open ?? 0, unresolved: r?.unresolved ?? 0 };
}

export async function alertHistoryOf(db: DbOrTx, id: number) {
  return db.select().from(alertHistory).where(eq(alertHistory.alertId, id)).orderBy(alertHistory.id);
}

/** Unresolved alerts raised by watchlists whose keys start with `prefix`. */
export async function openWatchAlerts(tx: Tx, prefix: string): Promise<AlertRow[]> {
  return tx
    .select()
    .from(alerts)
    .where(and(ne(alerts.state, 'resolved'), isNotNull(alerts.ruleKey), sql`${alerts.ruleKey} like ${`${prefix}%`}`));
}
