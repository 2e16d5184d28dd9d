// Notify ingestion stores the inbox row and enqueues its job in ONE statement. The job must be exactly the
// job `enqueue` makes, the pair must be atomic, a redelivery must count itself without a second job, and
// the workers are woken after the commit (not by a NOTIFY inside it).
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { wechatpayNotificationRejects, wechatpayNotifications } from '@/db/schema';
import { ingestNotificationBytes } from '@/server/payments/ingest-notification';
import { createOrder } from '@/server/payments/orders';
import { QUEUE } from '@/server/queue/catalogue';
import { enqueue } from '@/server/queue/enqueue';
import { causeId } from '@/server/queue/ids';
import { WAKE_CHANNEL_SQL } from '@/server/queue/insert-job';
import { eventually, startHarness, type Harness } from '../helpers/app-harness';
import { buildSignedNotification } from '../helpers/notifications';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false }); // jobs stay where ingestion put them
});
afterAll(async () => {
  await h?.close();
});

const headers = (n: Record<string, string>, contentType = 'application/json') => ({
  get: (name: string) => ({ ...n, 'content-type': contentType })[name.toLowerCase()] ?? null,
});
const ingest = (n: { headers: Record<string, string>; body: string }, contentType?: string) =>
  ingestNotificationBytes(() => ({ db: h.db, gateway: h.deps.gateway }), headers(n.headers, contentType), Buffer.from(n.body));

async function signedForNewOrder() {
  const order = await createOrder(h.db, { items: [{ productId: 'ceramic-mug', quantity: 1 }], expireMinutes: 15, scale: 1000 });
  const n = buildSignedNotification(h.credentials, { out_trade_no: order.outTradeNo, amount: order.amountFen });
  return { n, notificationId: JSON.parse(n.body).id as string };
}

const JOB_COLUMNS = `name, data, priority, state, retry_limit, retry_delay, retry_backoff, retry_delay_max, expire_seconds,
  deletion_seconds, policy, dead_letter, keep_until - start_after as retention, start_after <= now() as runnable`;
async function job(id: string) {
  return (await h.db.$client.unsafe(`select ${JOB_COLUMNS} from pgboss.job where id = $1`, [id]))[0];
}

it('stores the notification and enqueues exactly the job enqueue() would, with the new row id', async () => {
  const { n, notificationId } = await signedForNewOrder();
  expect(await ingest(n)).toMatchObject({ status: 204, outcome: 'accepted' });

  const [row] = await h.db.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, notificationId));
  expect(row).toMatchObject({
    eventType: 'TRANSACTION.SUCCESS',
    resourceType: 'encrypt-resource',
    deliveries: 1,
    processedAt: null,
    serial: h.credentials.wechatpayPublicKey.id,
  });
  expect(row!.resource).toEqual(n.resource);

  const ingested = await job(causeId('notification', notificationId));
  expect(ingested?.data).toEqual({ version: 1, inboxId: row!.id });
  const referenceId = causeId('notification', `${notificationId}-reference`);
  await h.db.transaction((tx) => enqueue(tx, QUEUE.processNotification, { version: 1, inboxId: row!.id }, { id: referenceId }));
  expect(ingested).toEqual(await job(referenceId));
  expect(ingested?.runnable).toBe(true);
});

it('counts a redelivery on the same row and enqueues no second job', async () => {
  const { n, notificationId } = await signedForNewOrder();
  expect((await ingest(n)).outcome).toBe('accepted');
  expect((await ingest(n)).outcome).toBe('duplicate');
  expect((await ingest(n)).outcome).toBe('duplicate');
  const rows = await h.db.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, notificationId));
  expect(rows).toHaveLength(1);
  expect(rows[0]!.deliveries).toBe(3);
  const [jobs] = await h.db
    .$client`select count(*)::int as n from pgboss.job where name = ${QUEUE.processNotification} and data->>'inboxId' = ${String(rows[0]!.id)}`;
  expect(jobs!.n).toBe(1);
});

it('stores nothing when its job cannot be written: inbox row and job are one statement', async () => {
  const { n, notificationId } = await signedForNewOrder();
  // The job insert fails (a constraint refuses the queue's jobs): the statement must fail whole, WeChat gets a 503.
  await h.db.$client.unsafe(`alter table pgboss.job_common add constraint scanpay_test_refuse check (name <> '${QUEUE.processNotification}') not valid`);
  try {
    expect(await ingest(n)).toMatchObject({ status: 503, outcome: 'unavailable' });
  } finally {
    await h.db.$client.unsafe('alter table pgboss.job_common drop constraint scanpay_test_refuse');
  }
  expect(await h.db.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, notificationId))).toHaveLength(0);
  expect((await ingest(n)).outcome).toBe('accepted');
});

it("commits without a NOTIFY, then wakes the workers on pg-boss's channel once the job is visible", async () => {
  const [{ channel }] = (await h.db.$client.unsafe(`select ${WAKE_CHANNEL_SQL} as channel`)) as unknown as [{ channel: string }];
  const { n, notificationId } = await signedForNewOrder();
  const jobId = causeId('notification', notificationId);
  const listener = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  const wakes: { payload: string; jobs: number }[] = [];
  const checks: Promise<void>[] = [];
  try {
    await listener.listen(channel, (payload) => {
      // When the wake-up arrives, the job it announces must already be committed.
      checks.push(
        h.db.$client
          .unsafe(`select count(*)::int as n from pgboss.job where id = $1`, [jobId])
          .then(([row]) => void wakes.push({ payload, jobs: Number(row!.n) })),
      );
    });
    expect((await ingest(n)).outcome).toBe('accepted');
    await eventually(async () => checks.length > 0 && (await Promise.all(checks)) && wakes.length > 0);
    expect(wakes[0]).toEqual({ payload: QUEUE.processNotification, jobs: 1 });
  } finally {
    await listener.end({ timeout: 5 });
  }
});

it('counts forged requests per reason and minute: a flood writes a bounded number of rows', async () => {
  const { n } = await signedForNewOrder();
  const forged = { headers: { ...n.headers, 'wechatpay-signature': Buffer.alloc(256, 7).toString('base64') }, body: n.body };
  const before = await h.db.select().from(wechatpayNotificationRejects);
  const answers = [];
  for (let i = 0; i < 300; i++) answers.push(await ingest(forged));
  for (let i = 0; i < 50; i++) answers.push(await ingest(n, 'text/plain'));
  expect(answers.every((a) => a.outcome === 'rejected')).toBe(true);
  const after = await h.db.select().from(wechatpayNotificationRejects);
  // At most one row per reason for each minute the loop spanned (two reasons, at most two minutes).
  expect(after.length - before.length).toBeLessThanOrEqual(4);
  const total = (rows: typeof after) => rows.reduce((sum, r) => sum + r.count, 0);
  expect(total(after) - total(before)).toBe(350);
  expect(new Set(after.map((r) => r.reason))).toEqual(new Set(['bad_signature', 'unsupported_content_type', ...before.map((r) => r.reason)]));
});

it('the sweeper prunes reject counts older than their retention', async () => {
  const { sweep } = await import('@/server/payments/sweep');
  const { REJECT_RETENTION_DAYS } = await import('@/server/payments/notification-rejects');
  const old = new Date(Date.now() - (REJECT_RETENTION_DAYS + 1) * 86_400_000);
  await h.db.insert(wechatpayNotificationRejects).values({ minute: old, reason: 'bad_signature', count: 9 });
  await sweep(h.db);
  const left = await h.db.select().from(wechatpayNotificationRejects);
  expect(left.some((r) => r.minute.getTime() === old.getTime())).toBe(false);
  expect(left.length).toBeGreaterThan(0); // recent minutes stay
});
