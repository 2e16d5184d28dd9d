// Notify ingestion stores the inbox row and enqueues its job in ONE statement (pg-boss's own INSERT with
// the inbox insert folded in front). The job must be exactly the job `enqueue` makes, the pair must be
// atomic, and a redelivery must count itself without a second job.
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clients, getDb } from '@/db/client';
import { wechatpayNotifications } from '@/db/schema';
import { enqueue, planEnqueue } from '@/server/jobs/boss';
import { QUEUE } from '@/server/jobs/catalogue';
import { causeId } from '@/server/jobs/ids';
import { foldIngestStatement, ingestNotificationBytes } from '@/server/payments/ingest-notification';
import { createOrder } from '@/server/payments/orders';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';
import { buildSignedNotification } from '../helpers/notifications';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false }); // jobs stay where ingestion put them
});
afterAll(async () => {
  await h?.close();
});

const headers = (n: Record<string, string>) => ({ get: (name: string) => ({ ...n, 'content-type': 'application/json' })[name.toLowerCase()] ?? null });

async function signedForNewOrder() {
  const order = await createOrder(getDb(), { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000 });
  const n = buildSignedNotification(h.credentials, { out_trade_no: order.outTradeNo, amount: order.amountFen });
  return { n, notificationId: JSON.parse(n.body).id as string };
}

// Every column pg-boss sets for a job, minus the ones that differ by nature (id, times).
const JOB_COLUMNS = `name, data, priority, state, retry_limit, retry_count, retry_delay, retry_backoff, retry_delay_max,
  expire_seconds, deletion_seconds, singleton_key, singleton_on, group_id, group_tier, policy, dead_letter,
  heartbeat_seconds, blocked, blocking, pending_dependencies, keep_until - start_after as retention,
  start_after <= now() as runnable`;

async function job(id: string) {
  const rows = await clients().sql.unsafe(`select ${JOB_COLUMNS} from pgboss.job where id = $1`, [id]);
  return rows[0];
}

it('stores the notification and enqueues exactly the job enqueue() would, with the new row id', async () => {
  const { n, notificationId } = await signedForNewOrder();
  const answer = await ingestNotificationBytes(headers(n.headers), Buffer.from(n.body));
  expect(answer).toMatchObject({ status: 204, outcome: 'accepted' });

  const [row] = await getDb().select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, notificationId));
  expect(row).toMatchObject({ eventType: 'TRANSACTION.SUCCESS', resourceType: 'encrypt-resource', deliveries: 1, processedAt: null });
  expect(row.serial).toBe(h.credentials.wechatpayPublicKey.id);
  expect(row.resource).toEqual(n.resource);

  const folded = await job(causeId('notification', notificationId));
  expect(folded).toBeDefined();
  expect(folded.data).toEqual({ version: 1, inboxId: row.id });

  // The reference: the same payload through pg-boss's send on a transaction, as every other enqueue runs.
  const referenceId = causeId('notification', `${notificationId}-reference`);
  await getDb().transaction((tx) => enqueue(tx, QUEUE.processNotification, { version: 1, inboxId: row.id }, { id: referenceId }));
  const reference = await job(referenceId);
  expect({ ...folded }).toEqual({ ...reference });
  expect(folded.runnable).toBe(true);
});

it('counts a redelivery on the same row and enqueues no second job', async () => {
  const { n, notificationId } = await signedForNewOrder();
  expect((await ingestNotificationBytes(headers(n.headers), Buffer.from(n.body))).outcome).toBe('accepted');
  expect((await ingestNotificationBytes(headers(n.headers), Buffer.from(n.body))).outcome).toBe('duplicate');
  expect((await ingestNotificationBytes(headers(n.headers), Buffer.from(n.body))).outcome).toBe('duplicate');

  const rows = await getDb().select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, notificationId));
  expect(rows).toHaveLength(1);
  expect(rows[0].deliveries).toBe(3);
  const jobs = await clients().sql`select count(*)::int as n from pgboss.job where name = ${QUEUE.processNotification} and data->>'inboxId' = ${String(rows[0].id)}`;
  expect(jobs[0].n).toBe(1);
});

it('stores nothing when the job cannot be inserted: inbox row and job are one statement', async () => {
  // A job INSERT that fails (no such table), shaped like pg-boss's: the inbox insert in front must roll back with it.
  const failing = foldIngestStatement(`insert into pgboss.no_such_table (id) select id from json_to_recordset($1::text::json) as x (id uuid) returning id`).text;
  const notificationId = `atomicity-${Date.now()}`;
  await expect(
    clients().sql.unsafe(failing, ['[{"id":"00000000-0000-4000-8000-000000000001","data":{"version":1,"inboxId":1}}]', notificationId, 'TRANSACTION.SUCCESS', 'encrypt-resource', null, null, 'serial', '{}']),
  ).rejects.toThrow(/no_such_table/);
  const rows = await getDb().select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, notificationId));
  expect(rows).toHaveLength(0);
});

it('commits without a NOTIFY, then wakes the workers on pg-boss\'s channel once the job is visible', async () => {
  // pg-boss would NOTIFY inside the insert, and Postgres serialises every notifying commit through its
  // flush: the statement must carry none, and pg-boss's own wake-up must follow the commit.
  const planned = await planEnqueue(QUEUE.processNotification, { version: 1, inboxId: 1 }, { id: causeId('notification', 'shape') });
  expect(planned.text).toMatch(/pg_notify/i); // pg-boss's notify variant is what we fold
  const statement = foldIngestStatement(planned.text);
  expect(statement.text).not.toMatch(/pg_notify|notified/i);
  const target = /pg_notify\((.*), '([^']+)'\)\s*$/s.exec(statement.wake ?? '');
  expect(target?.[2]).toBe(QUEUE.processNotification);
  const [{ channel }] = await clients().sql.unsafe(`select ${target![1]} as channel`);

  const { n, notificationId } = await signedForNewOrder();
  const jobId = causeId('notification', notificationId);
  const listener = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  const wakes: { payload: string; jobs: number }[] = [];
  const checks: Promise<void>[] = [];
  try {
    await listener.listen(channel, (payload) => {
      // When the wake-up arrives, the job it announces must already be committed.
      checks.push(
        clients()
          .sql.unsafe(`select count(*)::int as n from pgboss.job where id = $1`, [jobId])
          .then(([row]) => void wakes.push({ payload, jobs: Number(row.n) })),
      );
    });
    expect((await ingestNotificationBytes(headers(n.headers), Buffer.from(n.body))).outcome).toBe('accepted');
    await eventually(async () => checks.length > 0 && (await Promise.all(checks)) && wakes.length > 0);
    expect(wakes[0]).toEqual({ payload: QUEUE.processNotification, jobs: 1 });
  } finally {
    await listener.end({ timeout: 5 });
  }
});

it('refuses to fold a pg-boss statement of an unexpected shape', () => {
  expect(() => foldIngestStatement('insert into pgboss.job select * from json_to_recordset($1::text::json) x, $2')).toThrow(/unexpected shape/);
  expect(() => foldIngestStatement('insert into pgboss.job select * from json_populate_recordset(null, $1)')).toThrow(/unexpected shape/);
  // A NOTIFY we would not know how to move out of the statement.
  expect(() => foldIngestStatement(`with ins as (insert into pgboss.job select * from json_to_recordset($1::text::json) as x (id uuid) returning id) select id, pg_notify('c', 'q') from ins`)).toThrow(
    /unexpected shape/,
  );
});
