// Shared start-up steps for every entry point (dev/start, worker, simulator, tests): make sure there is
// a database (embedded when DATABASE_URL is unset), migrate it under an advisory lock, seed the demo.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createDb } from '@/db/client';
import { ensureEmbeddedPostgres, EmbeddedPostgresError, type EmbeddedPostgresHandle } from '@/db/embedded';
import { log as logger } from '@/server/log';
import { runMigrations } from '@/db/migrate';
import { ensureQueues } from '@/server/queue/boss';
import { seedDemoCatalogue } from '@/db/seed';
import { ConfigError, loadEnv, resetEnvCache, type AppEnv } from '@/server/env';
import { assertSupportedNode } from '@/server/runtime';

/** A line logger for one script (info level), for the places that take a `(line) => void`. */
export const log = (scope: string) => {
  const l = logger(scope);
  return (line: string) => l.info(line);
};

export { onParentExit } from './processes';

/** A start-up problem the user can fix: printed as one line, without a stack trace. */
export class StartupError extends Error {}

/** Prints a start-up failure as one clear line (no stack trace for errors we expected) and exits. */
export function exitWithStartupError(err: unknown): never {
  // Straight to stderr, unformatted: the one line a user must read.
  if (err instanceof ConfigError || err instanceof EmbeddedPostgresError || err instanceof StartupError) process.stderr.write(`\n✖ ${err.message}\n\n`);
  else process.stderr.write(`\n✖ Start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n\n`);
  process.exit(1);
}

export interface Booted {
  env: AppEnv;
  databaseUrl: string;
  postgres?: EmbeddedPostgresHandle;
}

/** Where the embedded Postgres of this configuration lives. */
export function embeddedPostgresOptions(env: AppEnv) {
  return { dataDir: path.join(env.DATA_DIR, 'pg'), port: env.PG_PORT, log: log('postgres') };
}

/**
 * `supervised`: `npm run dev` / `npm start` own their embedded Postgres (a leftover of an earlier run of
 * this data dir is stopped; see db/embedded.ts); `npm run worker` / `simulator` alone reuse a running one.
 */
export async function bootDatabase(opts: { seed?: boolean; scope: string; supervised?: boolean }): Promise<Booted> {
  assertSupportedNode();
  const env = loadEnv();
  mkdirSync(env.DATA_DIR, { recursive: true });
  let handle: EmbeddedPostgresHandle | undefined;
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    handle = await ensureEmbeddedPostgres({ ...embeddedPostgresOptions(env), supervised: opts.supervised });
    databaseUrl = handle.url;
    process.env.DATABASE_URL = databaseUrl;
    resetEnvCache(); // the configuration now has its database
  }
  await runMigrations(databaseUrl);
  await ensureQueues(databaseUrl);
  if (opts.seed) {
    const { db, sql } = createDb(databaseUrl, { max: 1 });
    try {
      const n = await seedDemoCatalogue(db);
      if (n) log(opts.scope)(`seeded ${n} demo products`);
    } finally {
      await sql.end();
    }
  }
  return { env: loadEnv(), databaseUrl, postgres: handle };
}

/** The simulator as configured (SIM_PORT, SIM_TIME_SCALE, credentials created on first start). */
export async function startConfiguredSimulator(env: AppEnv, databaseUrl: string) {
  // The simulator (and its control API, which serves private keys) never runs beside real credentials.
  if (env.wechatpayMode !== 'simulator') throw new StartupError('The WeChat Pay simulator runs only in simulator mode (WECHATPAY_MODE=simulator)');
  const { ensureSimulatorCredentials } = await import('@/simulator/credentials');
  const { startSimulator } = await import('@/simulator/server');
  const credentials = await ensureSimulatorCredentials(env.simCredentialsFile);
  return startSimulator({
    port: env.SIM_PORT,
    databaseUrl,
    credentials,
    timeScale: env.SIM_TIME_SCALE,
    feeRate: env.SIM_FEE_RATE,
    billsImmediate: env.SIM_BILLS_IMMEDIATE,
    merchantName: env.MERCHANT_NAME,
    log: log('simulator'),
  });
}

/**
 * While the console has no user, every start issues a one-time setup token for the first owner and
 * prints it (like Grafana or Jenkins): there is never a built-in account.
 */
export async function announceSetupToken(env: AppEnv, databaseUrl: string, scope: string): Promise<void> {
  const { issueSetupToken, setupTokenFile } = await import('@/server/auth/setup');
  const { db, sql } = createDb(databaseUrl, { max: 1 });
  try {
    const token = await issueSetupToken(db, env.DATA_DIR);
    if (token) {
      log(scope)(`No console user exists yet. Open ${env.appUrl}/admin/setup and enter this one-time setup token:`);
      log(scope)(`    ${token}`);
      log(scope)(`(also in ${setupTokenFile(env.DATA_DIR)}; or create the owner with: npm run admin -- users:create --email you@example.com --role owner)`);
    }
  } finally {
    await sql.end();
  }
}
