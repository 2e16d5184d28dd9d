// Shared start-up steps for every entry point (dev/start, worker, simulator, tests): make sure there is
// a database (embedded when DATABASE_URL is unset), migrate it under an advisory lock, seed the demo.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createDb } from '@/db/client';
import { ensureEmbeddedPostgres, EmbeddedPostgresError, type EmbeddedPostgresHandle } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { seedDemoCatalogue } from '@/db/seed';
import { ConfigError, loadEnv, type AppEnv } from '@/server/env';
import { assertSupportedNode } from '@/server/runtime';

export const log = (scope: string) => (line: string) => console.log(`[${scope}] ${line}`);

/** Prints a start-up failure as one clear line (no stack trace for errors we expected) and exits. */
export function exitWithStartupError(err: unknown): never {
  if (err instanceof ConfigError || err instanceof EmbeddedPostgresError) console.error(`\n✖ ${err.message}\n`);
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
  }
  await runMigrations(databaseUrl);
  if (opts.seed) {
    const { db, sql } = createDb(databaseUrl, 1);
    try {
      const n = await seedDemoCatalogue(db);
      if (n) log(opts.scope)(`seeded ${n} demo products`);
    } finally {
      await sql.end();
    }
  }
  return { env, databaseUrl, postgres: handle };
}
