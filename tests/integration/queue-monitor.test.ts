// The queue monitor: a job the worker dead-letters shows with its source queue, attempts, error and a
// redacted payload; retry sends it back to its queue (once per click) and discard needs a reason; both
// are audited; the per-queue figures count what is there.
import { workSettingsOf } from '@/server/jobs/registry';
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditLog } from '@/db/schema';
import type { AuditActor } from '@/server/auth/audit';
import { discardDeadLetters, listDeadLetters, queueOverview, redactPayload, retryDeadLetters } from '@/server/monitoring/queues';
import { insertJob } from '@/server/queue/insert-job';
import { causeId } from '@/server/queue/ids';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: true });
});
afterAll(async () => {
  await h?.close();
});

const actor: AuditActor = { id: 'u-dev', email: 'dev@example.com', role: 'developer', ip: '127.0.0.1', userAgent: 'test', twoFactorFresh: true };
const QUEUE = 'console.export';

/** A job the worker cannot read (unknown payload version) goes straight to the dead letters. */
async function deadLetter(marker: string) {
  const id = randomUUID();
  await insertJob(h.db.$client, QUEUE, { id, data: { version: 99, marker, apiToken: 'sk-live-123' } }, true);
  return eventually(async () => (await listDeadLetters(h.db)).find((d) => d.sourceId === id), 20_000);
}

it('lists dead letters with their source, attempts, error and a redacted payload', async () => {
  const d = await deadLetter('one');
  expect(d).toMatchObject({ queue: `${QUEUE}.dead`, sourceQueue: QUEUE, attempts: 1, lastError: 'invalid payload' });
  expect(d.payload).toEqual({ version: 99, marker: 'one', apiToken: '••••' });
  expect(redactPayload({ nested: { password: 'x', orderId: 'o' } })).toEqual({ nested: { password: '••••', orderId: 'o' } });
  const overview = await queueOverview(h.db, workSettingsOf);
  const dead = overview.find((q) => q.name === `${QUEUE}.dead`);
  expect(dead?.ready).toBeGreaterThanOrEqual(1);
  const live = overview.find((q) => q.name === QUEUE);
  expect(live?.policy).toMatchObject({ retryLimit: 2, deadLetter: `${QUEUE}.dead`, batchSize: 1 });
  expect(live?.spark).toHaveLength(30);
});

it('retries a dead letter into its source queue, once, audited', async () => {
  const d = await deadLetter('retry-me');
  expect(await retryDeadLetters(h.db, actor, [d.id], 'fixed the cause')).toEqual({ retried: 1 });
  // A second click finds it handled.
  await expect(retryDeadLetters(h.db, actor, [d.id], null)).rejects.toThrow(/already handled/);
  const newId = causeId('redrive', d.id);
  // The worker runs the retried job (it fails again here: its payload is still unreadable) — it ran.
  const again = await eventually(async () => (await listDeadLetters(h.db)).find((x) => x.sourceId === newId), 20_000);
  expect(again.sourceQueue).toBe(QUEUE);
  expect((await listDeadLetters(h.db)).some((x) => x.id === d.id)).toBe(false);
  const [entry] = await h.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, 'queue.dead_letter.retry'), eq(auditLog.objectId, d.id)));
  expect(entry).toMatchObject({ actorEmail: 'dev@example.com', reason: 'fixed the cause' });
  expect(entry!.after).toMatchObject({ queue: QUEUE, jobId: newId });
});

it('discards dead letters (one or many) only with a reason, audited', async () => {
  const a = await deadLetter('discard-a');
  const b = await deadLetter('discard-b');
  await expect(discardDeadLetters(h.db, actor, [a.id], ' ')).rejects.toThrow(/reason/);
  expect(await discardDeadLetters(h.db, actor, [a.id, b.id], 'test traffic')).toEqual({ discarded: 2 });
  const left = (await listDeadLetters(h.db)).map((x) => x.id);
  expect(left).not.toContain(a.id);
  expect(left).not.toContain(b.id);
  const rows = await h.db.select().from(auditLog).where(eq(auditLog.action, 'queue.dead_letter.discard'));
  expect(rows.map((r) => r.objectId).sort()).toEqual([a.id, b.id].sort());
  expect(rows.every((r) => r.reason === 'test traffic')).toBe(true);
  const [job] = await h.db.$client.unsafe<{ state: string; output: { reason: string } }[]>(`select state, output from pgboss.job where id = $1`, [a.id]);
  expect(job).toMatchObject({ state: 'cancelled', output: { reason: 'test traffic' } });
});
