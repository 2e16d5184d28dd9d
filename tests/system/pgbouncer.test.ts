// Web and worker through PgBouncer in session mode (issue 12 item 9), as many production databases sit
// behind a pooler: orders are created and paid, and live status (LISTEN/NOTIFY through the pooler) reaches
// a subscriber. PgBouncer is Debian's `pgbouncer`, installed by `npm test` (scripts/lib/system-deps.ts).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import postgres from 'postgres';
import { ensureEmbeddedPostgres, EMBEDDED_PASSWORD, EMBEDDED_USER, type EmbeddedPostgresHandle } from '@/db/embedded';
import { launch, ROOT, type Launched } from '../../scripts/lib/cluster';
import { listenersOf } from '../../scripts/lib/processes';
import { firstExisting, PGBOUNCER_PATHS } from '../../scripts/lib/system-deps';
import { eventually, sseEvents, trpcCall } from '../helpers/app-harness';
import { testPort } from '../helpers/test-ports';

const PG_PORT = testPort(54397);
const BOUNCER_PORT = testPort(6532);
const SIM_PORT = testPort(3271);
const WEB_PORT = testPort(3270);
const base = path.join(ROOT, '.data/test-runs', `pgbouncer-${process.pid}`);

let pg: EmbeddedPostgresHandle;
let bouncer: ChildProcess;
let c: Launched;
const bouncerUrl = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${BOUNCER_PORT}/scanpay`;

beforeAll(async () => {
  const bin = firstExisting(PGBOUNCER_PATHS);
  if (!bin) throw new Error('pgbouncer is not installed: `npm test` installs it (apt-get install -y pgbouncer)');
  mkdirSync(base, { recursive: true });
  chmodSync(base, 0o755);
  pg = await ensureEmbeddedPostgres({ dataDir: path.join(base, 'pg'), port: PG_PORT, supervised: true });

  // PgBouncer refuses to run as root: as root it runs as the postgres user, like the embedded Postgres.
  const bouncerDir = path.join(base, 'pgbouncer');
  mkdirSync(bouncerDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot
    ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) }
    : undefined;
  writeFileSync(path.join(bouncerDir, 'users.txt'), `"${EMBEDDED_USER}" "${EMBEDDED_PASSWORD}"\n`, { mode: 0o600 });
  writeFileSync(
    path.join(bouncerDir, 'pgbouncer.ini'),
    [
      '[databases]',
      `scanpay = host=127.0.0.1 port=${PG_PORT} dbname=scanpay`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${BOUNCER_PORT}`,
      `unix_socket_dir = ${bouncerDir}`,
      'auth_type = scram-sha-256',
      `auth_file = ${path.join(bouncerDir, 'users.txt')}`,
      `admin_users = ${EMBEDDED_USER}`,
      'pool_mode = session',
      'max_client_conn = 200',
      'default_pool_size = 60',
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  if (ids) for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(path.join(bouncerDir, f), ids.uid, ids.gid);
  bouncer = spawn(bin, [path.join(bouncerDir, 'pgbouncer.ini')], { ...(ids ?? {}), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const bouncerOut: string[] = [];
  bouncer.stderr!.on('data', (d: Buffer) => bouncerOut.push(d.toString()));
  await eventually(async () => listenersOf(BOUNCER_PORT).length > 0 || (bouncer.exitCode !== null && Promise.reject(new Error(bouncerOut.join('')))), 20_000);

  c = await launch({
    dataDir: path.join(base, 'app'),
    pgPort: PG_PORT,
    simPort: SIM_PORT,
    webPorts: [WEB_PORT],
    workers: 1,
    databaseUrl: bouncerUrl, // web and worker (and the simulator) connect through PgBouncer
    adminUrl: pg.url, // migrations straight to Postgres
    env: { SIM_TIME_SCALE: '0.01', CHECKOUT_RATE_LIMIT_PER_MINUTE: '100000', DB_POOL_MAX: '4', PGBOSS_POOL_MAX: '3' },
    echo: process.env.CHAOS_VERBOSE === '1',
  });
}, 240_000);

afterAll(async () => {
  await c?.stop();
  if (bouncer?.pid) {
    try {
      process.kill(-bouncer.pid, 'SIGTERM');
    } catch {}
  }
  await pg?.stop();
  rmSync(base, { recursive: true, force: true });
});

it('pays orders with live status, every app connection going through PgBouncer (session mode)', async () => {
  const web = c.webUrls[0]!;
  const tokens: string[] = [];
  for (let i = 0; i < 5; i++) {
    const created = await trpcCall(web, 'checkout.create', { items: [{ productId: 'red-envelope', quantity: 1 }] }, 'mutation');
    expect(created.status).toBe(200);
    tokens.push(created.data.token);
  }
  const views = await Promise.all(tokens.map(async (token) => (await trpcCall(web, 'checkout.status', { token })).data));

  // Live status for the first order: LISTEN/NOTIFY through the pooler.
  const controller = new AbortController();
  const stream = sseEvents(web, 'checkout.onStatus', { token: tokens[0] }, controller.signal);
  expect((await stream.next()).value.status).toBe('awaiting_payment');

  for (const v of views) {
    const pay = await fetch(`${c.simUrl}/_sim/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code_url: v.codeUrl }),
    });
    expect(pay.status).toBe(200);
  }
  let live: string | undefined;
  for await (const v of stream) {
    if (v.status === 'paid') {
      live = v.status;
      break;
    }
  }
  controller.abort();
  expect(live).toBe('paid');
  for (const token of tokens)
    expect(await eventually(async () => (await trpcCall(web, 'checkout.status', { token })).data?.status === 'paid', 30_000)).toBe(true);

  // The app's connections really are PgBouncer's clients.
  const admin = postgres(`postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${BOUNCER_PORT}/pgbouncer`, {
    max: 1,
    prepare: false,
    fetch_types: false,
  });
  try {
    const clients = await admin`show clients`.simple();
    const appClients = clients.filter((r) => r.database === 'scanpay');
    expect(appClients.length).toBeGreaterThanOrEqual(4);
    console.log(`[pgbouncer] ${tokens.length} orders paid with live status; ${appClients.length} app connections through PgBouncer (session mode)`);
  } finally {
    await admin.end({ timeout: 2 });
  }
}, 180_000);
