// /api/metrics: disabled without METRICS_TOKEN, refused without the bearer token, and with it a Prometheus
// text exposition that parses line by line, with queue figures for every queue of the catalogue, payments
// by path, and HTTP latencies flushed by a web process. Readiness and liveness answer on their own.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GET as liveGet } from '@/app/api/health/live/route';
import { GET as readyGet } from '@/app/api/health/ready/route';
import { GET as metricsGet } from '@/app/api/metrics/route';
import { resetEnvCache } from '@/server/env';
import { createRequestListener } from '@/server/http/server';
import { allQueueDefinitions } from '@/server/queue/catalogue';
import { startHarness, type Harness } from '../helpers/app-harness';

const TOKEN = 'metrics-token-0123456789abcdef';
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, ownDatabase: true, env: { METRICS_TOKEN: TOKEN } });
});
afterAll(async () => {
  await h?.close();
});

const scrape = (auth?: string) => metricsGet(new Request('http://app/api/metrics', { headers: auth ? { authorization: auth } : {} }));

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
/** A strict reader of the text format: HELP/TYPE comments, then `name{label="v",...} value` lines. */
function parse(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(m[1]!) && !types.has(family)) throw new Error(`sample before its TYPE: ${line}`);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

it('is disabled without METRICS_TOKEN and refuses a missing or wrong token', async () => {
  expect((await scrape()).status).toBe(401);
  expect((await scrape(`Bearer ${TOKEN}x`)).status).toBe(401);
  const saved = process.env.METRICS_TOKEN;
  delete process.env.METRICS_TOKEN;
  resetEnvCache();
  h.deps.env = (await import('@/server/env')).loadEnv();
  try {
    expect((await scrape(`Bearer ${TOKEN}`)).status).toBe(404);
  } finally {
    process.env.METRICS_TOKEN = saved;
    resetEnvCache();
    h.deps.env = (await import('@/server/env')).loadEnv();
  }
});

it('exposes queue, notify, payment and HTTP metrics that parse', async () => {
  // Requests through the production HTTP listener, as a web process serves them.
  const server = createServer(
    createRequestListener({ app: (_req, res) => void res.end('ok'), notify: async (_r, res) => void res.end(), limits: { maxBodyBytes: 1024 } }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (let i = 0; i < 3; i++) await (await fetch(`${url}/x`)).text();
  await new Promise((r) => server.close(r));

  const res = await scrape(`Bearer ${TOKEN}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const { types, samples } = parse(await res.text());
  expect(types.get('scanpay_queue_ready')).toBe('gauge');
  expect(types.get('scanpay_notify_to_paid_seconds')).toBe('histogram');
  const queues = samples.filter((s) => s.name === 'scanpay_queue_oldest_ready_seconds').map((s) => s.labels.queue);
  expect(queues.sort()).toEqual(
    allQueueDefinitions()
      .map((q) => q.name)
      .sort(),
  );
  expect(
    samples
      .filter((s) => s.name === 'scanpay_payments_total')
      .map((s) => s.labels.via)
      .sort(),
  ).toEqual(['bill', 'notify', 'query', 'shopper']);
  const http = samples.find((s) => s.name === 'scanpay_http_request_duration_seconds_count' && s.labels.method === 'GET' && s.labels.status === '2xx');
  expect(http?.value).toBeGreaterThanOrEqual(3);
  const inf = samples.find((s) => s.name === 'scanpay_http_request_duration_seconds_bucket' && s.labels.le === '+Inf' && s.labels.method === 'GET');
  expect(inf?.value).toBe(http?.value);
  expect(samples.find((s) => s.name === 'scanpay_processes_reporting')?.value).toBeGreaterThanOrEqual(1);
});

it('answers liveness without the database and readiness with database and queue lag', async () => {
  expect((await liveGet()).status).toBe(200);
  const ready = await readyGet();
  const body = await ready.json();
  // queueLag itself depends on what other files of a shared run left in the payment queues.
  expect(body).toMatchObject({ database: { ok: true }, queue: { ok: true }, queueLag: { oldestReadySeconds: expect.any(Number) } });
  // A payment job waiting 10 minutes: not ready.
  await h.db.$client.unsafe(`insert into pgboss.job (name, data, start_after) values ('payment.close-order', '{}', now() - interval '10 minutes')`);
  const lagging = await readyGet();
  expect(lagging.status).toBe(503);
  expect((await lagging.json()).queueLag).toMatchObject({ ok: false, oldestReadySeconds: expect.any(Number) });
  await h.db.$client.unsafe(`delete from pgboss.job where name = 'payment.close-order'`);
});
