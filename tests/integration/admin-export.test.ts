// CSV export end to end on real Postgres and pg-boss: requested (job enqueued, audited), produced by the
// job's function, UTF-8 BOM + CRLF, yuan and fen, Beijing and UTC, formula guard, and the row cap.
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { closeDb, getDb } from '../helpers/db';
import { seedDemoCatalogue } from '@/db/seed';
import { auditLog, consoleExports, orders } from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { csvCell, exportFile, ORDER_CSV_HEADER, requestOrdersExport, runExport } from '@/server/console/exports';
import { createOrder } from '@/server/payments/orders';

let token = '';
const dataDir = mkdtempSync(path.join(tmpdir(), 'scanpay-export-'));
beforeAll(async () => {
  const db = getDb();
  await seedDemoCatalogue(db);
  const o = await createOrder(db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1 });
  token = o.token;
  await db.update(orders).set({ description: '=HYPERLINK("http://evil")' }).where(eq(orders.token, token));
});
afterAll(async () => {
  await closeDb();
});

test('csvCell guards formulas and quotes', () => {
  expect(csvCell('=1+1')).toBe(`"'=1+1"`);
  expect(csvCell('-2')).toBe(`"'-2"`);
  expect(csvCell('a "b"')).toBe('"a ""b"""');
  expect(csvCell(null)).toBe('');
});

test('an export is queued, audited, written as the job would, and refuses above the cap', async () => {
  const db = getDb();
  const actor = { ...SYSTEM_ACTOR, id: 'tester', email: 'tester@example.test' };
  const { id } = await requestOrdersExport(db, actor, { q: token });
  const [job] = await db.execute<{ name: string }>(sql`select name from pgboss.job where id = ${id}::uuid`);
  expect(job?.name).toBe('console.export');
  expect((await db.select().from(auditLog).where(eq(auditLog.objectId, id))).map((a) => a.action)).toEqual(['export.request']);

  expect(await runExport(db, id, { dataDir, maxRows: 100, linkHours: 1 })).toBe('done 1');
  const text = readFileSync(exportFile(dataDir, id), 'utf8');
  expect(text.startsWith('\uFEFF')).toBe(true);
  const lines = text.slice(1).split('\r\n');
  expect(lines[0]).toBe(ORDER_CSV_HEADER.join(','));
  expect(lines).toHaveLength(3); // header, one row, the final CRLF
  expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil"")"`);
  expect(lines[1]).toMatch(/,69\.00,6900,0\.00,0,69\.00,6900,/);
  expect(lines[1]).toMatch(/"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00","\d{4}-\d{2}-\d{2}T[\d:.]+Z"/);
  const [row] = await db.select().from(consoleExports).where(eq(consoleExports.id, id));
  expect(row).toMatchObject({ status: 'done', rowsDone: 1, rowsTotal: 1 });

  const big = await requestOrdersExport(db, actor, {});
  await createOrder(db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1 });
  expect(await runExport(db, big.id, { dataDir, maxRows: 1, linkHours: 1 })).toBe('row_cap');
  const [capped] = await db.select().from(consoleExports).where(eq(consoleExports.id, big.id));
  expect(capped).toMatchObject({ status: 'failed' });
  expect(capped?.error).toMatch(/^ROW_CAP/);
});
