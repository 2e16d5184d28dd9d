// A database outage under `npm start` (issue 12 item 5): the embedded Postgres is stopped (fast shutdown)
// while orders are being paid. The supervisor restarts it; the worker survives it (the same process
// reconnects: patches/postgres+3.4.9.patch removes the driver's uncatchable TypeError on a closed socket);
// a notification that failed meanwhile (5xx, nothing stored) is redelivered and processed; new payments go
// through; the outage's pg-boss errors are logged once per cause, not per attempt; and a standalone
// `npm run worker` recovers by itself too (its crash guard, exit 1 for a supervisor, remains for the rest).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/cluster';
import { pidAlive } from '../../scripts/lib/processes';
import { eventually, trpcCall } from '../helpers/app-harness';
import { testPort } from '../helpers/test-ports';
import { killRun, npmRun, postgresOf, startedBy, waitAllGone, waitHealthy, type NpmRun } from './npm-start';

const PORT = testPort(3265);
const SIM_PORT = testPort(3266);
const PG_PORT = testPort(54398);
const dataDir = path.join(ROOT, '.data/test-runs', `outage-${process.pid}`);
let run: NpmRun | undefined;

afterAll(() => {
  killRun(run);
  rmSync(dataDir, { recursive: true, force: true });
});

async function order(appUrl: string): Promise<{ token: string; codeUrl: string }> {
  const created = await trpcCall(appUrl, 'checkout.create', { items: [{ productId: 'red-envelope', quantity: 1 }] }, 'mutation');
  expect(created.status).toBe(200);
  const view = (await trpcCall(appUrl, 'checkout.status', { token: created.data.token })).data;
  return { token: created.data.token, codeUrl: view.codeUrl };
}

const simPay = (simUrl: string, codeUrl: string) =>
  fetch(`${simUrl}/_sim/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code_url: codeUrl }) });

const statusOf = async (appUrl: string, token: string) =>
  (await trpcCall(appUrl, 'checkout.status', { token }).catch(() => ({ data: undefined }))).data?.status;

it('survives a Postgres restart: Postgres and worker come back, payments resume, errors are not flooded', async () => {
  run = npmRun({
    mode: 'start',
    port: PORT,
    simPort: SIM_PORT,
    pgPort: PG_PORT,
    dataDir,
    env: { SIM_TIME_SCALE: '0.01', CHECKOUT_RATE_LIMIT_PER_MINUTE: '100000' },
  });
  await waitHealthy(run.appUrl, run);
  const r = run;

  // A standalone worker beside it, as an operator scaling workers apart would run it.
  const standalone = spawn('npm', ['run', 'worker'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      WECHATPAY_MODE: 'simulator',
      DATABASE_URL: `postgres://scanpay:scanpay@127.0.0.1:${PG_PORT}/scanpay`,
      DATA_DIR: dataDir,
      SCANPAY_PROCESS_NAME: 'scanpay-standalone-worker',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const standaloneOut: string[] = [];
  standalone.stdout!.on('data', (c: Buffer) => standaloneOut.push(...c.toString().split('\n')));
  standalone.stderr!.on('data', (c: Buffer) => standaloneOut.push(...c.toString().split('\n')));
  let standaloneExit: number | null | undefined;
  standalone.once('exit', (code) => (standaloneExit = code));
  await eventually(async () => standaloneOut.some((l) => l.includes('worker ready')), 60_000);

  const before = await order(r.appUrl);
  expect((await simPay(r.simUrl, before.codeUrl)).status).toBe(200);
  expect(await eventually(async () => (await statusOf(r.appUrl, before.token)) === 'paid', 30_000)).toBe(true);

  // Orders in flight, then the database goes away (fast shutdown, as an operator's restart does).
  const inFlight = await Promise.all(Array.from({ length: 6 }, () => order(r.appUrl)));
  await Promise.all(inFlight.map((o) => simPay(r.simUrl, o.codeUrl)));
  const postmaster = postgresOf(dataDir)[0]!.pid;
  const workerBefore = startedBy(r).find((p) => p.cmd.includes('scripts/worker.ts'))!.pid;
  process.kill(postmaster, 'SIGINT');
  await eventually(async () => !pidAlive(postmaster), 20_000);

  // The supervisor brings Postgres back; the app answers healthy again.
  await eventually(async () => r.output.some((l) => l.includes('embedded Postgres is back')), 60_000);
  const again = postgresOf(dataDir)[0]?.pid;
  expect(again).toBeDefined();
  expect(again).not.toBe(postmaster);
  await eventually(async () => (await fetch(`${r.appUrl}/api/health`).catch(() => null))?.ok, 60_000);

  // The worker survived: the same process reconnected (nothing crashed it for a supervisor to restart).
  const workerAfter = startedBy(r).find((p) => p.cmd.includes('scripts/worker.ts'))?.pid;
  expect(workerAfter).toBe(workerBefore);
  expect(r.output.filter((l) => l.includes('worker crashed'))).toEqual([]);

  // Every order paid around the outage ends paid (notifications redelivered), and new payments go through.
  for (const o of inFlight) expect(await eventually(async () => (await statusOf(r.appUrl, o.token)) === 'paid', 90_000)).toBe(true);
  const after = await order(r.appUrl);
  expect((await simPay(r.simUrl, after.codeUrl)).status).toBe(200);
  expect(await eventually(async () => (await statusOf(r.appUrl, after.token)) === 'paid', 30_000)).toBe(true);

  // The outage was logged once per cause per process, not once per failed poll.
  const bossErrors = [...r.output, ...standaloneOut].filter((l) => l.includes('"msg":"pg-boss error"'));
  const perCause = new Map<string, number>();
  for (const line of bossErrors) {
    const e = JSON.parse(line) as { proc?: string; pid?: number; err?: { type?: string; message?: string } };
    // Per process: a worker restarted by its supervisor is a new process with the same name.
    const key = `${e.proc}/${e.pid} ${e.err?.type}: ${(e.err?.message ?? '').replace(/\d+/g, '#')}`;
    perCause.set(key, (perCause.get(key) ?? 0) + 1);
  }
  // The outage lasts well under the one-minute interval: each process logs each cause at most twice
  // (once, and once more if the test straddles an interval).
  const flooded = [...perCause].filter(([, n]) => n > 2);
  expect(flooded, [...perCause].map(([k, n]) => `${n} × ${k}`).join('\n')).toEqual([]);
  expect(r.output.filter((l) => l.includes('uncaughtException') && !l.includes('worker crashed')).length).toBe(0);

  // The standalone worker recovered by itself too.
  expect(standaloneExit).toBeUndefined();
  expect(pidAlive(standalone.pid!)).toBe(true);
  expect(standaloneOut.filter((l) => l.includes('worker crashed'))).toEqual([]);
  try {
    process.kill(-standalone.pid!, 'SIGTERM');
  } catch {}
  console.log(`[outage] both workers survived the restart; ${bossErrors.length} pg-boss error lines for ${perCause.size} causes`);

  const pids = startedBy(r).map((p) => p.pid);
  process.kill(-r.npm.pid!, 'SIGTERM');
  expect(await waitAllGone(pids, 10_000)).toBeGreaterThanOrEqual(0);
}, 400_000);
