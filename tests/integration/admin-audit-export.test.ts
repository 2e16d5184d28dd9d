// The audit log filtered (actor, action, object, Beijing date range) and exported through the console
// export machinery: queued in the console.export queue and audited, written by the job as UTF-8 with BOM
// and CRLF with the formula guard, downloadable by its creator while the link lasts, refused above the
// row cap with an explicit error.
import { readFileSync } from 'node:fs';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { GET as downloadRoute } from '@/app/api/admin/exports/[id]/route';
import { auditLog, consoleExports } from '@/db/schema';
import { appendAudit, SYSTEM_ACTOR } from '@/server/auth/audit';
import { AUDIT_CSV_HEADER, auditQuery } from '@/server/console/audit-log';
import { exportFile, runExport } from '@/server/console/exports';
import { loadEnv } from '@/server/env';
import { callerFor, signedInUser, type SignedIn } from '../helpers/admin';
import { closeDb, getDb } from '../helpers/db';

let owner: SignedIn;
const tag = `audit-test-${process.pid}-${Date.now()}`;
const beijingToday = () => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(new Date());
const beijingDay = (offsetDays: number) =>
  new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(new Date(Date.now() + offsetDays * 86_400_000));

beforeAll(async () => {
  owner = await signedInUser('owner');
  const db = getDb();
  const alice = { ...SYSTEM_ACTOR, id: 'alice', email: `alice-${tag}@example.test`, role: 'admin' };
  const bob = { ...SYSTEM_ACTOR, id: 'bob', email: `bob-${tag}@example.test`, role: 'finance' };
  await appendAudit(db, alice, {
    action: 'product.update',
    objectType: 'product',
    objectId: tag,
    before: { priceFen: 100 },
    after: { priceFen: 200 },
    reason: '=cmd|calc',
  });
  await appendAudit(db, alice, { action: 'product.deactivate', objectType: 'product', objectId: tag });
  await appendAudit(db, bob, { action: 'product.update', objectType: 'product', objectId: `${tag}-other` });
}, 60_000);
afterAll(() => closeDb());

test('Beijing days bound the range: midnight +08:00 inclusive, the next midnight exclusive', () => {
  const q = auditQuery({ fromDay: '2026-12-02', toDay: '2026-12-03' });
  expect(q.from?.toISOString()).toBe('2026-12-01T16:00:00.000Z');
  expect(q.to?.toISOString()).toBe('2026-12-03T16:00:00.000Z');
});

test('the list filters by actor, action, object and Beijing dates', async () => {
  const audit = callerFor(owner.headers()).admin.audit;
  const ids = async (filter: Record<string, string>) =>
    (await audit.list({ filter })).rows.map((r) => `${r.actorEmail?.split('-')[0]}:${r.action}:${r.objectId}`);
  expect(await ids({ objectType: 'product', objectId: tag })).toEqual([`alice:product.deactivate:${tag}`, `alice:product.update:${tag}`]);
  expect(await ids({ actor: `bob-${tag}@example.test` })).toEqual([`bob:product.update:${tag}-other`]);
  expect(await ids({ actor: `alice-${tag}@example.test`, action: 'product.update' })).toEqual([`alice:product.update:${tag}`]);
  expect(await ids({ objectId: tag, fromDay: beijingToday(), toDay: beijingToday() })).toHaveLength(2);
  expect(await ids({ objectId: tag, toDay: beijingDay(-1) })).toEqual([]);
  expect(await ids({ objectId: tag, fromDay: beijingDay(1) })).toEqual([]);
  await expect(audit.list({ filter: { fromDay: '2026-12-03', toDay: '2026-12-02' } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  await expect(audit.list({ filter: { fromDay: '2026-13' } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
});

test('the filtered log exports as CSV through the export job, audited, downloadable by its creator', async () => {
  const db = getDb();
  const caller = callerFor(owner.headers());
  const filter = { objectType: 'product', objectId: tag, fromDay: beijingToday(), toDay: beijingToday() };
  const { id } = await caller.admin.audit.export({ filter });
  const [job] = await db.execute<{ name: string }>(sql`select name from pgboss.job where id = ${id}::uuid`);
  expect(job?.name).toBe('console.export');
  const [request] = await db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.objectId, id), eq(auditLog.action, 'export.request')));
  expect(request).toMatchObject({ actorEmail: owner.email, after: { kind: 'audit', filter } });

  const env = loadEnv();
  expect(await runExport(db, id, { dataDir: env.DATA_DIR, maxRows: 100, linkHours: 1 })).toBe('done 2');
  const text = readFileSync(exportFile(env.DATA_DIR, id), 'utf8');
  expect(text.startsWith('\uFEFF')).toBe(true);
  const lines = text.slice(1).split('\r\n');
  expect(lines[0]).toBe(AUDIT_CSV_HEADER.join(','));
  expect(lines).toHaveLength(4); // header, two entries (newest first), the final CRLF
  expect(lines[1]).toContain('"product.deactivate"');
  expect(lines[2]).toContain('"product.update"');
  expect(lines[2]).toContain(`"'=cmd|calc"`); // the reason cannot run as a formula
  expect(lines[2]).toContain('"{""priceFen"":100}","{""priceFen"":200}"');
  expect(lines[2]).toMatch(/^\d+,"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00","\d{4}-\d{2}-\d{2}T[\d:.]+Z",/);
  expect(text.includes(`${tag}-other`)).toBe(false);
  expect(await caller.admin.exports.get({ id })).toMatchObject({ kind: 'audit', status: 'done', rowsDone: 2, rowsTotal: 2 });

  const res = await downloadRoute(new Request(`http://app/api/admin/exports/${id}`, { headers: owner.headers() }), { params: Promise.resolve({ id }) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-disposition')).toBe(`attachment; filename="audit-log-${id}.csv"`);
  expect(Buffer.from(await res.arrayBuffer()).toString('utf8')).toBe(text); // bytes: Response.text() would drop the BOM
  const downloads = await db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.objectId, id), eq(auditLog.action, 'export.download')));
  expect(downloads).toHaveLength(1);

  // Someone else cannot read it, even with audit:view.
  const auditor = await signedInUser('auditor');
  await expect(callerFor(auditor.headers()).admin.exports.get({ id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  const theirs = await downloadRoute(new Request(`http://app/api/admin/exports/${id}`, { headers: auditor.headers() }), { params: Promise.resolve({ id }) });
  expect(theirs.status).toBe(404);
});

test('above the row cap the export fails with an explicit error, never a cut file', async () => {
  const db = getDb();
  const { id } = await callerFor(owner.headers()).admin.audit.export({ filter: { objectType: 'product', objectId: tag } });
  expect(await runExport(db, id, { dataDir: loadEnv().DATA_DIR, maxRows: 1, linkHours: 1 })).toBe('row_cap');
  const [row] = await db.select().from(consoleExports).where(eq(consoleExports.id, id));
  expect(row).toMatchObject({ status: 'failed', expiresAt: null });
  expect(row?.error).toBe('ROW_CAP: more than 1 rows match; narrow the filter');
});

test('roles without audit:view can neither list nor export the log', async () => {
  const finance = await signedInUser('finance');
  const audit = callerFor(finance.headers()).admin.audit;
  await expect(audit.list({ filter: {} })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  await expect(audit.export({ filter: {} })).rejects.toMatchObject({ code: 'FORBIDDEN' });
});
