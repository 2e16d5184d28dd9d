// Webhook delivery chaos, on the production build as `npm start` runs it: business systems get every
// payment event although their receiver is down for a while, then answers 500, then does not answer in
// time, and the worker is SIGKILLed while deliveries are in flight. Every event arrives at least once with
// a signature the reference library verifies, duplicates share their webhook-id (receivers can dedupe),
// retries follow the scaled schedule, and an endpoint answering 410 is disabled.
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { and, asc, eq, like } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { webhookAttempts, webhookEndpoints } from '@/db/schema';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { createApiKey } from '@/server/api-keys/keys';
import { RETRY_SCHEDULE_SECONDS } from '@/server/webhooks/schedule';
import { launch, ROOT, type Launched as Cluster } from '../../scripts/lib/cluster';
import { testPort } from '../helpers/test-ports';

const N = Number(process.env.WEBHOOK_CHAOS_ORDERS ?? 12);
const SCALE = 0.002;
const RECEIVER_PORT = testPort(3282);
const GONE_PORT = testPort(3283);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Phase = 'down' | 'error' | 'hang' | 'ok';
interface Hit {
  at: number;
  id: string;
  headers: Record<string, string>;
  body: string;
  answered: Phase;
}

/** Waits for `done`, polling; the retry schedule's longest gap in this run is about a minute. */
async function until(what: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

let c: Cluster;
let key: string;
let phase: Phase = 'down';
const hits: Hit[] = [];
let receiver: Server | undefined;
let gone: Server | undefined;

function startReceiver(): Promise<void> {
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    hits.push({ at: Date.now(), id: headers['webhook-id']!, headers, body: Buffer.concat(chunks).toString('utf8'), answered: phase });
    if (phase === 'hang') return; // the worker's 1 s deadline cuts it
    res.writeHead(phase === 'error' ? 500 : 200).end(phase === 'error' ? 'internal error' : 'ok');
  });
  return new Promise((r) => receiver!.listen(RECEIVER_PORT, '127.0.0.1', () => r()));
}

async function call(method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${c.webUrls[0]}/api/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

beforeAll(async () => {
  c = await launch({
    dataDir: path.join(ROOT, '.data', 'system-webhook-chaos'),
    pgPort: testPort(54387),
    simPort: testPort(3281),
    webPorts: [testPort(3280)],
    workers: 1,
    echo: process.env.CHAOS_VERBOSE === '1',
    env: {
      DB_POOL_MAX: '8',
      PGBOSS_POOL_MAX: '4',
      SIM_TIME_SCALE: '0.01',
      PGBOSS_SUPERVISE_SECONDS: '2',
      WEBHOOK_RETRY_SCALE: String(SCALE),
      WEBHOOK_TIMEOUT_MS: '1000',
      API_RATE_LIMIT_PER_MINUTE: '100000',
    },
  });
  key = (await createApiKey(c.db, SYSTEM_ACTOR, { name: 'chaos', scopes: ['orders:read', 'orders:write', 'webhooks:manage'], mode: 'simulator' })).secret;
  gone = createServer((_req, res) => void res.writeHead(410).end('gone'));
  await new Promise<void>((r) => gone!.listen(GONE_PORT, '127.0.0.1', () => r()));
}, 240_000);

afterAll(async () => {
  receiver?.closeAllConnections();
  receiver?.close();
  gone?.close();
  await c?.stop();
});

it(`${N} payment events reach a flaky receiver at least once, through a worker SIGKILL`, async () => {
  const endpoint = await call('POST', '/webhook-endpoints', { url: `http://127.0.0.1:${RECEIVER_PORT}/hooks`, events: ['payment.succeeded'] });
  const goneEndpoint = await call('POST', '/webhook-endpoints', { url: `http://127.0.0.1:${GONE_PORT}/hooks` });

  // The receiver is down (nothing listens) while the orders are created and paid.
  const orderIds: string[] = [];
  for (let i = 0; i < N; i++) {
    const o = await call('POST', '/orders', { merchantOrderNo: `CHAOS-${Date.now()}-${i}`, amountFen: 100 + i, description: 'chaos' });
    orderIds.push(o.id);
    const paid = await fetch(`${c.simUrl}/_sim/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code_url: o.codeUrl }),
    });
    expect(paid.ok).toBe(true);
  }
  // Each phase lasts until the deliveries have met it (the retries space out, so a phase of fixed length
  // may see none on a slow machine): every delivery refused while down, then some answered 500, then one
  // held unanswered, and the worker is SIGKILLed while it waits; then healthy.
  await until('every delivery refused while the receiver is down', async () => {
    const refused = await c.db
      .selectDistinct({ id: webhookAttempts.deliveryId })
      .from(webhookAttempts)
      .where(and(eq(webhookAttempts.endpointId, endpoint.id), like(webhookAttempts.error, '%ECONNREFUSED%')));
    return refused.length === N;
  });
  phase = 'error';
  await startReceiver();
  await until('a delivery answered 500', async () => hits.some((h) => h.answered === 'error'));
  phase = 'hang';
  await until('a delivery held unanswered', async () => hits.some((h) => h.answered === 'hang'));
  await c.killWorker(0, 'SIGKILL');
  await sleep(500);
  await c.startWorker(0);
  phase = 'ok';

  const deadline = Date.now() + 180_000;
  let delivered = new Set<string>();
  while (Date.now() < deadline) {
    delivered = new Set(hits.filter((h) => h.answered === 'ok').map((h) => JSON.parse(h.body).orderId));
    if (orderIds.every((id) => delivered.has(id))) break;
    await sleep(500);
  }
  expect(orderIds.filter((id) => !delivered.has(id))).toEqual([]);

  // Verifiable, and deduplicable: one webhook-id per event, whatever the number of tries.
  const wh = new Webhook(endpoint.secret);
  const byId = new Map<string, Hit[]>();
  for (const h of hits) byId.set(h.id, [...(byId.get(h.id) ?? []), h]);
  expect(byId.size).toBe(N);
  for (const [id, tries] of byId) {
    const bodies = new Set(tries.map((t) => t.body));
    expect(bodies.size).toBe(1);
    const ok = tries.find((t) => t.answered === 'ok')!;
    expect(wh.verify(ok.body, ok.headers)).toMatchObject({ id, type: 'payment.succeeded' });
  }
  expect(hits.some((h) => h.answered === 'error')).toBe(true);
  expect(hits.some((h) => h.answered === 'hang')).toBe(true);

  // The attempt log: each delivery's gaps follow the scaled schedule (less 10% jitter); a try cut by the
  // SIGKILL is repeated as the same attempt (at least once, never skipped).
  const attempts = await c.db.select().from(webhookAttempts).where(eq(webhookAttempts.endpointId, endpoint.id)).orderBy(asc(webhookAttempts.id));
  const perDelivery = new Map<string, typeof attempts>();
  for (const a of attempts) perDelivery.set(a.deliveryId, [...(perDelivery.get(a.deliveryId) ?? []), a]);
  expect(perDelivery.size).toBe(N);
  for (const rows of perDelivery.values()) {
    expect(rows.at(-1)!.outcome).toBe('succeeded');
    expect(rows.some((r) => r.error?.includes('ECONNREFUSED'))).toBe(true);
    const firsts = rows.filter((r, i) => i === 0 || r.attempt !== rows[i - 1]!.attempt);
    for (let i = 1; i < firsts.length; i++) {
      const gap = firsts[i]!.createdAt.getTime() - firsts[i - 1]!.createdAt.getTime();
      expect(gap).toBeGreaterThanOrEqual(RETRY_SCHEDULE_SECONDS[firsts[i]!.attempt - 1]! * SCALE * 1000 * 0.9 - 5);
    }
  }

  // The endpoint that answered 410 is disabled.
  const [g] = await c.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, goneEndpoint.id));
  expect(g!.disabledAt).not.toBeNull();
}, 400_000);
