// TRUST_PROXY_HOPS on `npm start` (issue 12 item 4), both ways, through npm as a user runs it: with 0 (the
// default) the order's client address is the socket's and a client's X-Forwarded-For is ignored; with 1 it
// is the right-most X-Forwarded-For entry, the one the proxy in front appended.
import { rmSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, afterEach, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/cluster';
import { trpcCall } from '../helpers/app-harness';
import { testPort } from '../helpers/test-ports';
import { killRun, npmRun, startedBy, waitAllGone, waitHealthy, type NpmRun } from './npm-start';

const PORT = testPort(3275);
const SIM_PORT = testPort(3276);
const PG_PORT = testPort(54394);
const dataDir = path.join(ROOT, '.data/test-runs', `proxy-hops-${process.pid}`);

let run: NpmRun | undefined;
afterEach(async () => {
  if (!run) return;
  const pids = startedBy(run).map((p) => p.pid);
  try {
    process.kill(-run.npm.pid!, 'SIGTERM');
  } catch {}
  await waitAllGone(pids, 20_000);
  killRun(run);
  run = undefined;
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function boot(hops: string): Promise<NpmRun> {
  run = npmRun({ mode: 'start', port: PORT, simPort: SIM_PORT, pgPort: PG_PORT, dataDir, env: { TRUST_PROXY_HOPS: hops } });
  await waitHealthy(run.appUrl, run);
  return run;
}

/** Creates an order as a browser behind `headers` would, and reads the address the app recorded for it. */
async function clientIpOf(r: NpmRun, headers: Record<string, string>): Promise<string | null> {
  const res = await trpcCall(r.appUrl, 'checkout.create', { items: [{ productId: 'red-envelope', quantity: 1 }] }, 'mutation', headers);
  expect(res.status, JSON.stringify(res.error)).toBe(200);
  const sql = postgres(`postgres://scanpay:scanpay@127.0.0.1:${PG_PORT}/scanpay`, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ client_ip: string | null }[]>`select client_ip from orders where token = ${res.data.token}`;
    return row?.client_ip ?? null;
  } finally {
    await sql.end();
  }
}

it('with TRUST_PROXY_HOPS=0 (default) the socket address counts; X-Forwarded-For from the client is ignored', async () => {
  const r = await boot('0');
  expect(await clientIpOf(r, { 'x-forwarded-for': '203.0.113.7' })).toBe('127.0.0.1');
  expect(await clientIpOf(r, {})).toBe('127.0.0.1');
});

it('with TRUST_PROXY_HOPS=1 the address the proxy appended counts, not what the client wrote before it', async () => {
  const r = await boot('1');
  expect(await clientIpOf(r, { 'x-forwarded-for': '203.0.113.7' })).toBe('203.0.113.7');
  expect(await clientIpOf(r, { 'x-forwarded-for': '6.6.6.6, 203.0.113.8' })).toBe('203.0.113.8');
});
