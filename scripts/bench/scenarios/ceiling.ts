// The database's own ceiling for notify ingestion: pgbench running the very ingestion statement
// (server/payments/ingest-notification.ts INGEST — inbox row + job in one statement) at the notify run's
// concurrency, with no HTTP, no verification, no Node. Scanpay's notify rate is reported as a share of it.
// Its jobs go to a dead-letter queue nobody works, so the workers stay idle while it runs.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { INGEST } from '@/server/payments/ingest-notification';
import { deadLetterOf, QUEUE } from '@/server/queue/catalogue';
import { TMP_DIR } from '../lib/config';
import type { Ctx } from '../lib/harness';

export interface CeilingRow {
  concurrency: number;
  seconds: number;
  tps: number;
  /** pgbench's own client: Debian's, or none (then the row says why). */
  pgbench: string;
  skipped?: string;
}

const RESOURCE = JSON.stringify({ out_trade_no: 'PGBENCH', trade_state: 'SUCCESS', amount: { total: 1, currency: 'CNY' } });
const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The ingestion statement with its parameters as SQL expressions: a fresh notification id each time. */
export function pgbenchScript(): string {
  const values: Record<string, string> = {
    $1: 'gen_random_uuid()',
    $2: quote(deadLetterOf(QUEUE.processNotification)),
    $3: "('PGB-' || gen_random_uuid()::text)",
    $4: quote('TRANSACTION.SUCCESS'),
    $5: quote('encrypt-resource'),
    $6: quote('支付成功'),
    $7: 'null',
    $8: quote('PUB_KEY_ID_PGBENCH'),
    $9: quote(RESOURCE),
  };
  // Longest placeholders first is not needed ($1..$9 only), but a \b keeps $1 from matching inside $10+.
  // pgbench wants the statement on one line: line comments go first, or they would swallow the rest.
  const text = INGEST.replace(/--[^\n]*/g, '')
    .replace(/\$(\d)\b/g, (m) => values[m] ?? m)
    .replace(/\s+/g, ' ')
    .trim();
  return `${text};\n`;
}

export async function runCeiling(ctx: Ctx, concurrency: number, seconds: number): Promise<CeilingRow> {
  const found = spawnSync('pgbench', ['--version'], { encoding: 'utf8' });
  if (found.status !== 0) {
    return { concurrency, seconds, tps: 0, pgbench: 'none', skipped: 'pgbench not installed (Debian: apt-get install postgresql-client)' };
  }
  const file = path.join(TMP_DIR, 'ingest.pgbench.sql');
  writeFileSync(file, pgbenchScript());
  const out = spawnSync('pgbench', ['-n', '-M', 'prepared', '-c', String(concurrency), '-j', '2', '-T', String(seconds), '-f', file, ctx.cluster.databaseUrl], {
    encoding: 'utf8',
    timeout: (seconds + 60) * 1000,
  });
  const tps = Number(/tps = ([\d.]+)/.exec(out.stdout)?.[1] ?? Number.NaN);
  if (!Number.isFinite(tps)) throw new Error(`pgbench failed: ${(out.stderr || out.stdout).slice(0, 500)}`);
  await ctx.cluster.sql.unsafe(`delete from wechatpay_notifications where notification_id like 'PGB-%'`);
  await ctx.cluster.sql.unsafe(`delete from pgboss.job where name = $1`, [deadLetterOf(QUEUE.processNotification)]);
  ctx.log(`ceiling: pgbench, ingestion statement, c=${concurrency} × ${seconds} s: ${tps.toFixed(0)} tx/s`);
  return { concurrency, seconds, tps: Math.round(tps), pgbench: found.stdout.trim() };
}
