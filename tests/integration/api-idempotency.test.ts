// Idempotency-Key on the API's POSTs: the same key and body replay the first answer (status and body,
// errors and 5xx included); another body under the key is a 422; concurrent requests with one key never
// both execute.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiIdempotencyKeys, orders } from '@/db/schema';
import { api, makeKey } from '../helpers/api';
import { startHarness, type Harness } from '../helpers/app-harness';

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness({ worker: false, env: { API_RATE_LIMIT_PER_MINUTE: '100000' } });
  key = (await makeKey(h.db)).secret;
});
afterAll(async () => {
  await h?.close();
});

const uniq = () => `I${Date.now()}${Math.floor(Math.random() * 1e6)}`;
const body = (merchantOrderNo: string) => ({ merchantOrderNo, amountFen: 500, description: 'idem' });

it('replays the first answer for the same key and body, and refuses another body (422)', async () => {
  const idem = crypto.randomUUID();
  const no = uniq();
  const first = await api('POST', '/orders', { key, body: body(no), idempotencyKey: idem });
  expect(first.status).toBe(201);
  const again = await api('POST', '/orders', { key, body: body(no), idempotencyKey: idem });
  expect(again.status).toBe(201);
  expect(again.body).toEqual(first.body);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(await h.db.$count(orders, eq(orders.merchantOrderNo, no))).toBe(1);

  const other = await api('POST', '/orders', { key, body: { ...body(no), amountFen: 501 }, idempotencyKey: idem });
  expect(other.status).toBe(422);
  expect(other.body.error.code).toBe('idempotency_key_reused');
  // Another path under the same key is another request too.
  expect((await api('POST', `/orders/${first.body.id}/close`, { key, idempotencyKey: idem })).status).toBe(422);
});

it('replays errors as they were, a 5xx included', async () => {
  const idem = crypto.randomUUID();
  const no = uniq();
  expect((await api('POST', '/orders', { key, body: body(no) })).status).toBe(201);
  const conflict = await api('POST', '/orders', { key, body: body(no), idempotencyKey: idem });
  expect(conflict.status).toBe(409);
  expect(await api('POST', '/orders', { key, body: body(no), idempotencyKey: idem })).toMatchObject({ status: 409, body: conflict.body });

  // WeChat away: the create answers 503, and that answer is what the key keeps, even once WeChat is back.
  const down = crypto.randomUUID();
  const downBody = body(uniq());
  await setFaults({ apiErrorRate: 1 });
  let failed: Awaited<ReturnType<typeof api<any>>>;
  try {
    failed = await api('POST', '/orders', { key, body: downBody, idempotencyKey: down });
  } finally {
    await setFaults({});
  }
  expect(failed.status).toBe(503);
  expect(failed.body.error.code).toBe('provider_unavailable');
  const replay = await api('POST', '/orders', { key, body: downBody, idempotencyKey: down });
  expect(replay).toMatchObject({ status: 503, body: failed.body });
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
});

async function setFaults(faults: Record<string, unknown>) {
  const res = await fetch(`${h.simUrl}/_sim/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  if (!res.ok) throw new Error(`faults: ${res.status} ${await res.text()}`);
}

it('two concurrent requests with one key never both execute', async () => {
  for (let round = 0; round < 5; round++) {
    const idem = crypto.randomUUID();
    const no = uniq();
    const answers = await Promise.all(Array.from({ length: 6 }, () => api('POST', '/orders', { key, body: body(no), idempotencyKey: idem })));
    // One executed: one order. The others got the replay (201) or "in progress" (409), never a second create.
    expect(await h.db.$count(orders, eq(orders.merchantOrderNo, no))).toBe(1);
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    for (const a of answers) {
      if (a.status === 409) expect(a.body.error.code).toBe('idempotency_in_progress');
      else expect(a.status).toBe(201);
    }
    const created = answers.filter((a) => a.status === 201).map((a) => a.body.id);
    expect(new Set(created).size).toBe(1);
  }
});

it('takes over a key whose request never finished (its process died), after the lock time', async () => {
  const idem = crypto.randomUUID();
  const no = uniq();
  await h.db.insert(apiIdempotencyKeys).values({
    key: idem,
    requestHash: 'x',
    method: 'POST',
    path: '/orders',
    apiKeyId: crypto.randomUUID(),
    createdAt: sql`now() - interval '10 minutes'` as never,
  });
  const res = await api('POST', '/orders', { key, body: body(no), idempotencyKey: idem });
  expect(res.status).toBe(201);
  expect((await api('POST', '/orders', { key, body: body(no), idempotencyKey: idem })).body).toEqual(res.body);
});

it('refuses an empty or too long key', async () => {
  expect((await api('POST', '/orders', { key, body: body(uniq()), idempotencyKey: 'x'.repeat(256) })).status).toBe(400);
});
