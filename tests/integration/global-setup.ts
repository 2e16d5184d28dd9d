// Integration tests get their own embedded cluster: a fresh data dir and a free port for every run, so
// runs never share state — with `npm run dev`, or with another test run in the same checkout.
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { ensureEmbeddedPostgres } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { ensureQueues } from '@/server/queue/boss';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export default async function setup() {
  const dataDir = path.resolve('.data/test-runs', `pg-${process.pid}-${Date.now()}`);
  const pg = await ensureEmbeddedPostgres({ dataDir, port: await freePort(), database: 'scanpay_integration' });
  await runMigrations(pg.url);
  await ensureQueues(pg.url);
  process.env.DATABASE_URL = pg.url;
  return async () => {
    await pg.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
