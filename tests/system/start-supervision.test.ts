// `npm start` as a user runs it (scripts/start.ts start, on the test build): the job worker is a process of
// its own; killed, it comes back and payments keep being processed; SIGTERM stops every process it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, trpcCall } from '../helpers/app-harness';
import { assertBuild as assertTestBuild, TEST_DIST_DIR } from '../../scripts/lib/cluster';
import { testPort } from '../helpers/test-ports';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PORT = testPort(3250);
const SIM_PORT = testPort(3251);
const PG_PORT = testPort(54389);
const appUrl = `http://127.0.0.1:${PORT}`;
const dataDir = path.join(ROOT, '.data/test-runs', `start-${process.pid}-${Date.now()}`);

let start: ChildProcess;
const output: string[] = [];

/** Live processes whose command line mentions `needle` (from /proc). */
function processesWith(needle: string): { pid: number; ppid: number; cmd: string }[] {
  const found: { pid: number; ppid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmd.includes(needle)) continue;
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      found.push({ pid: Number(entry), ppid, cmd });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

const workerOf = (parent: number) => processesWith('scripts/worker.ts').find((p) => p.ppid === parent);

beforeAll(async () => {
  assertTestBuild();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    WECHATPAY_MODE: 'simulator',
    PORT: String(PORT),
    HOST: '127.0.0.1',
    SIM_PORT: String(SIM_PORT),
    PG_PORT: String(PG_PORT),
    DATA_DIR: dataDir,
    NEXT_DIST_DIR: TEST_DIST_DIR,
    WEB_CONCURRENCY: '2',
    COMPENSATION_TIME_SCALE: '100', // no active query during the test: the notification must do the work
  };
  delete env.DATABASE_URL; // start.ts boots its own embedded Postgres, as on a fresh machine
  delete env.WECHATPAY_BASE_URL;
  delete env.APP_URL;
  start = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  start.stdout!.on('data', keep);
  start.stderr!.on('data', keep);
  await eventually(async () => (await fetch(`${appUrl}/api/health`).catch(() => null))?.ok, 200_000).catch((err) => {
    throw new Error(`npm start did not come up: ${err}\n${output.slice(-30).join('\n')}`);
  });
}, 240_000);

afterAll(async () => {
  if (start && start.exitCode === null) {
    start.kill('SIGKILL');
    for (const p of processesWith(dataDir)) process.kill(p.pid, 'SIGKILL');
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function payNewOrder(): Promise<string> {
  const created = await trpcCall(appUrl, 'checkout.create', { items: [{ productId: 'red-envelope', quantity: 1 }] }, 'mutation');
  expect(created.status).toBe(200);
  const view = (await trpcCall(appUrl, 'checkout.status', { token: created.data.token })).data;
  const paid = await fetch(`http://127.0.0.1:${SIM_PORT}/_sim/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code_url: view.codeUrl }),
  });
  expect(paid.status).toBe(200);
  const done = await eventually(async () => {
    const v = (await trpcCall(appUrl, 'checkout.status', { token: created.data.token })).data;
    return v?.status === 'paid' ? v : null;
  }, 20_000);
  return done.status;
}

it('runs the worker as its own process, restarts it when killed, and payments still go through', async () => {
  expect(await fetch(`${appUrl}/api/health`).then((r) => r.json())).toMatchObject({ ok: true, workerInProcess: false });
  const first = await eventually(async () => workerOf(start.pid!), 30_000);
  expect(await payNewOrder()).toBe('paid');

  process.kill(first.pid, 'SIGKILL');
  const second = await eventually(async () => {
    const w = workerOf(start.pid!);
    return w && w.pid !== first.pid ? w : null;
  }, 30_000);
  expect(second.pid).not.toBe(first.pid);
  expect(output.some((l) => l.includes('worker exited (SIGKILL); restarting it'))).toBe(true);
  expect(await payNewOrder()).toBe('paid');
}, 90_000);

it('stops every process it started on SIGTERM', async () => {
  const serve = processesWith('scripts/serve.ts'); // the cluster primary and its web processes
  const primary = serve.filter((p) => p.ppid === start.pid);
  const started = [
    ...primary,
    ...serve.filter((p) => primary.some((q) => q.pid === p.ppid)),
    ...processesWith('scripts/worker.ts').filter((p) => p.ppid === start.pid),
    ...processesWith(dataDir), // the embedded Postgres (postmaster -D <dataDir>/pg)
  ];
  expect(started.length).toBe(5); // serve.ts primary, 2 web processes, the worker, Postgres
  const exited = new Promise<number | null>((resolve) => start.once('exit', (code) => resolve(code)));
  start.kill('SIGTERM');
  expect(await exited).toBe(0);
  const alive = started.filter((p) => {
    try {
      process.kill(p.pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  expect(alive).toEqual([]);
}, 60_000);
