// Integration tests get their own embedded cluster (own data dir and port, so `npm test` works while
// `npm run dev` runs) and a fresh, migrated database for every run.
import path from 'node:path';
import postgres from 'postgres';
import { embeddedUrl, ensureEmbeddedPostgres } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';

const PORT = Number(process.env.TEST_PG_PORT ?? 54339);
const DATABASE = 'scanpay_integration';

export default async function setup() {
  const pg = await ensureEmbeddedPostgres({ dataDir: path.resolve('.data/test-pg'), port: PORT, database: 'postgres' });
  const admin = postgres(embeddedUrl(PORT, 'postgres'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${DATABASE} with (force)`);
  await admin.unsafe(`create database ${DATABASE}`);
  await admin.end();
  const url = embeddedUrl(PORT, DATABASE);
  await runMigrations(url);
  process.env.DATABASE_URL = url;
  return async () => {
    await pg.stop();
  };
}
