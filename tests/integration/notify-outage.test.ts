// "Database down → 5xx so WeChat retries" (DESIGN §2.3), tested on the real code of both notify entries:
// the app connects as a role of its own, and the test really takes its INSERT on the inbox away (as a
// failing or read-only database would). Both entries answer 503 FAIL and store nothing; once the right is
// back, the simulator's next redelivery is stored and processed, and the order is paid.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orders, wechatpayNotifications } from '@/db/schema';
import { handleNotifyNode } from '@/server/http/notify-node';
import { eventually, startHarness, trpcCall, type Harness } from '../helpers/app-harness';

const ROLE = 'scanpay_outage_app';
let h: Harness;
let nodeEntry: Server;
let nodeUrl: string;
const superUrl = process.env.DATABASE_URL!;

beforeAll(async () => {
  const admin = (await import('postgres')).default(superUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop owned by ${ROLE}`).catch(() => {});
  await admin.unsafe(`drop role if exists ${ROLE}`);
  await admin.unsafe(`create role ${ROLE} login password 'outage'`);
  for (const schema of ['public', 'pgboss']) {
    await admin.unsafe(`grant usage on schema ${schema} to ${ROLE}`);
    await admin.unsafe(`grant select, insert, update, delete on all tables in schema ${schema} to ${ROLE}`);
    await admin.unsafe(`grant usage, select on all sequences in schema ${schema} to ${ROLE}`);
    await admin.unsafe(`grant execute on all functions in schema ${schema} to ${ROLE}`);
  }
  await admin.end();
  const url = new URL(superUrl);
  url.username = ROLE;
  url.password = 'outage';
  // The simulator keeps the superuser connection (the harness starts it from DATABASE_URL first); the app
  // and its worker use the role.
  h = await startHarness({ env: { DATABASE_URL: url.toString(), CHECKOUT_RATE_LIMIT_PER_MINUTE: '1000', COMPENSATION_TIME_SCALE: '100' } });
  nodeEntry = createServer((req, res) => void handleNotifyNode(() => h.deps, req, res));
  await new Promise<void>((resolve) => nodeEntry.listen(0, '127.0.0.1', () => resolve()));
  nodeUrl = `http://127.0.0.1:${(nodeEntry.address() as AddressInfo).port}/api/wechatpay/notify`;
});
afterAll(async () => {
  await new Promise((r) => nodeEntry?.close(r));
  await h?.close();
  process.env.DATABASE_URL = superUrl;
});

async function asSuperuser(statement: string) {
  const admin = (await import('postgres')).default(superUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(statement);
  } finally {
    await admin.end();
  }
}

it('answers 503 on both entries while the inbox cannot be written, stores nothing, and processes the redelivery', async () => {
  const created = await trpcCall(h.appUrl, 'checkout.create', { items: [{ productId: 'red-envelope', quantity: 1 }] }, 'mutation');
  const view = (await trpcCall(h.appUrl, 'checkout.status', { token: created.data.token })).data;

  await asSuperuser(`revoke insert on wechatpay_notifications from ${ROLE}`);
  try {
    await h.simPay(view.codeUrl);
    // The simulator's first delivery reached the Next route and got a 503.
    const refused = await eventually(async () => h.captured.find((c) => c.status === 503 && c.body.includes('"event_type"')));
    expect(refused).toBeDefined();
    // The same bytes on the production server's entry: the same answer.
    const direct = await fetch(nodeUrl, {
      method: 'POST',
      headers: { ...replayable(refused.headers), 'content-type': 'application/json' },
      body: refused.body,
    });
    expect(direct.status).toBe(503);
    expect(await direct.json()).toEqual({ code: 'FAIL', message: 'temporarily unavailable' });
    const id = JSON.parse(refused.body).id as string;
    expect(await h.db.select().from(wechatpayNotifications).where(eq(wechatpayNotifications.notificationId, id))).toHaveLength(0);
  } finally {
    await asSuperuser(`grant insert on wechatpay_notifications to ${ROLE}`);
  }

  // WeChat (the simulator) retries on its schedule; the next delivery is stored and the worker pays the order.
  const paid = await eventually(async () => {
    const [o] = await h.db.select().from(orders).where(eq(orders.token, created.data.token));
    return o?.status === 'paid' ? o : null;
  }, 30_000);
  expect(paid.paidVia).toBe('notify');
  expect(h.captured.some((c) => c.status === 204)).toBe(true);
});

function replayable(headers: Record<string, string>) {
  const { 'content-length': _l, host: _h, connection: _c, 'transfer-encoding': _t, ...rest } = headers;
  return rest;
}
