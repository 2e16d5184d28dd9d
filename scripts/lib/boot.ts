// Shared start-up steps for every entry point (dev/start, worker, simulator, tests): make sure there is
// a database (embedded when DATABASE_URL is unset), migrate it under an advisory lock, seed the demo.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createDb } from '@/db/client';
import { ensureEmbeddedPostgres, EmbeddedPostgresError, type EmbeddedPostgresHandle } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { ensureQueues } from '@/server/queue/boss';
import { seedDemoCatalogue } from '@/db/seed';
import { ConfigError, loadEnv, resetEnvCache, type AppEnv } from '@/server/env';
import { assertSupportedNode } from '@/server/runtime';

export const log = (scope: string) => (line: string) => console.log(`[${scope}] ${line}`);

/** A start-up problem the user can fix: printed as one line, without a stack trace. */
export class StartupError extends Error {}

/** Prints a start-up failure as one clear line (no stack trace for errors we expected) and exits. */
export function exitWithStartupError(err: unknown): never {
  if (err instanceof ConfigError || err instanceof EmbeddedPostgresError || err instanceof StartupError) console.error(`\n✖ ${err.message}\n`);
  else console.error('\n✖ Start-up failed:', err);
  process.exit(1);
}

export interface Booted {
  env: AppEnv;
  databaseUrl: string;
  postgres?: EmbeddedPostgresHandle;
}

export async function bootDatabase(opts: { seed?: boolean; scope: string }): Promise<Booted> {
  assertSupportedNode();
  const env = loadEnv();
  mkdirSync(env.DATA_DIR, { recursive: true });
  let handle: EmbeddedPostgresHandle | undefined;
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    handle = await ensureEmbeddedPostgres({ dataDir: path.join(env.DATA_DIR, 'pg'), port: env.PG_PORT, log: log('postgres') });
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

/**
 * `npm run` forwards SIGTERM to its `sh`, which dies without passing it on: this process is then
 * re-parented. Treat that as a stop request, so killing `npm run dev` never leaves Next or Postgres behind.
 */
export function onParentExit(stop: () => void): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 500).unref();
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
    merchantName: env.MERCHANT_NAME,
    log: log('simulator'),
  });
}
