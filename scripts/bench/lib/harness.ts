// Shared steps of the scenarios: run the load generator, wait for the worker to drain, sample resources.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { and, count, inArray, ne, sql } from 'drizzle-orm';
import { paymentAttempts } from '@/db/schema';
import type { LoadInput, LoadOutput } from '../loadgen';
import { CREDENTIALS_FILE, NODE, TMP_DIR, type BenchOptions } from './config';
import type { Cluster } from './cluster';
import type { OrderRef } from './notifications';
import { createOrders } from './orders';
import { isAlive, spawnManaged } from './procs';
import { processTree, rssMb, samplePeaks, treeCpuSeconds } from './resources';

export interface Ctx {
  opts: BenchOptions;
  cluster: Cluster;
  log: (line: string) => void;
  /** Servers already warmed up (JIT, pools, prepared statements), by base URL and process id. */
  warmed?: Set<string>;
}

/**
 * Sends `n` notifications at concurrency 16 to servers not yet warmed since they started, and waits for
 * the worker to drain: no scenario measures a cold process.
 */
export async function warmUp(ctx: Ctx, targets: string[], pids: (number | undefined)[], n: number): Promise<void> {
  ctx.warmed ??= new Set();
  const key = `${targets.join(',')}#${pids.join(',')}`;
  if (ctx.warmed.has(key)) return;
  const orders = await createOrders(ctx.cluster.db, n);
  await runLoad(ctx, { mode: 'closed', targets, orders, connections: 16, timeoutMs: 30_000 });
  await waitForDrain(ctx);
  ctx.warmed.add(key);
}

let runSeq = 0;

export async function runLoad(ctx: Ctx, input: Omit<LoadInput, 'credentialsFile' | 'path'> & { path?: string }): Promise<LoadOutput> {
  const id = ++runSeq;
  const inFile = path.join(TMP_DIR, `load-${id}.in.json`);
  const outFile = path.join(TMP_DIR, `load-${id}.out.json`);
  const full: LoadInput = { path: '/api/wechatpay/notify', credentialsFile: CREDENTIALS_FILE, ...input };
  writeFileSync(inFile, JSON.stringify(full));
  const m = spawnManaged(`loadgen${id}`, NODE, ['--import', 'tsx', 'scripts/bench/loadgen.ts', inFile, outFile], { verbose: ctx.opts.verbose });
  const limitMs = 10 * 60_000;
  const timer = setTimeout(() => m.child.kill('SIGKILL'), limitMs);
  await m.exited;
  clearTimeout(timer);
  if (m.child.exitCode !== 0) throw new Error(`load generator failed (${m.child.exitCode ?? m.child.signalCode}):\n${m.output.slice(-20).join('\n')}`);
  return JSON.parse(readFileSync(outFile, 'utf8')) as LoadOutput;
}

/** Waits until every stored notification has been processed by a worker. Returns how long it took. */
export async function waitForDrain(ctx: Ctx, timeoutMs = 180_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const row = (await ctx.cluster.db.execute<{ n: number }>(sql`select count(*)::int as n from wechatpay_notifications where processed_at is null`))[0]!;
    if (Number(row.n) === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${row.n} notifications still unprocessed after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Orders whose attempt is not paid among these: a benchmark that silently lost payments must not pass. */
export async function unpaidAmong(ctx: Ctx, orders: OrderRef[]): Promise<number> {
  let unpaid = 0;
  for (let i = 0; i < orders.length; i += 1000) {
    const nos = orders.slice(i, i + 1000).map((o) => o.outTradeNo);
    const [row] = await ctx.cluster.db
      .select({ n: count() })
      .from(paymentAttempts)
      .where(and(inArray(paymentAttempts.outTradeNo, nos), ne(paymentAttempts.status, 'paid')));
    unpaid += Number(row!.n);
  }
  return unpaid;
}

/** Peak RSS of web and worker process trees and peak Postgres connections (by role) while `fn` runs. */
export async function withResources<T>(ctx: Ctx, fn: () => Promise<T>): Promise<{ result: T; peaks: Record<string, number> }> {
  const { cluster } = ctx;
  const sampler = samplePeaks(async () => {
    const values: Record<string, number> = {};
    // Per OS process (a cluster primary and each of its forks count separately) and in total.
    const rssOf = (ms: typeof cluster.webs) => ms.filter(isAlive).flatMap((m) => processTree(m.child.pid!).map(rssMb));
    const web = rssOf(cluster.webs);
    const workers = rssOf(cluster.workers);
    values.web_rss_mb = web.reduce((a, b) => a + b, 0);
    values.web_rss_max_mb = Math.max(0, ...web);
    values.worker_rss_mb = workers.reduce((a, b) => a + b, 0);
    values.worker_rss_max_mb = Math.max(0, ...workers);
    const rows = await cluster.db.execute<{ app: string; total: number; active: number }>(sql`
      select coalesce(nullif(application_name, ''), 'other') as app, count(*)::int as total,
             count(*) filter (where state <> 'idle')::int as active
      from pg_stat_activity where backend_type = 'client backend' group by 1`);
    let total = 0;
    let active = 0;
    const byRole: Record<string, number> = {};
    for (const r of rows) {
      // The benchmark's and the launcher's own connections and the idle baseline server are not part of the
      // system under test.
      if (/^scanpay-(bench|baseline|launcher)/.test(r.app)) continue;
      const role = /web/.test(r.app) ? 'web' : /worker/.test(r.app) ? 'worker' : /sim/.test(r.app) ? 'sim' : /live/.test(r.app) ? 'live' : 'other';
      byRole[role] = (byRole[role] ?? 0) + Number(r.total);
      // The simulator stands in for WeChat Pay, which holds no connection to our Postgres: listed, not counted.
      if (role === 'sim') continue;
      total += Number(r.total);
      active += Number(r.active);
    }
    values.pg_connections = total;
    values.pg_active = active;
    for (const [role, n] of Object.entries(byRole)) values[`pg_${role}`] = n;
    return values;
  });
  try {
    const result = await fn();
    return { result, peaks: await sampler.stop() };
  } catch (err) {
    await sampler.stop();
    throw err;
  }
}

export interface CpuSnapshot {
  web: number;
  worker: number;
  baseline: number;
  postgres: number;
  /** Of which Postgres's own background processes (autovacuum, checkpointer, WAL writer...), not backends. */
  postgresBackground: number;
}

/** CPU seconds used so far by each part of the system (process trees; Postgres = postmaster + backends). */
export function cpuSnapshot(ctx: Ctx): CpuSnapshot {
  const { cluster } = ctx;
  const sum = (ms: { child: { pid?: number } }[]) => ms.reduce((s, m) => s + (m.child.pid ? treeCpuSeconds(m.child.pid) : 0), 0);
  const pgPid = cluster.postgresPid();
  return {
    web: sum(cluster.webs.filter(isAlive)),
    worker: sum(cluster.workers.filter(isAlive)),
    baseline: cluster.baseline && isAlive(cluster.baseline) ? sum([cluster.baseline]) : 0,
    postgres: pgPid ? treeCpuSeconds(pgPid) : 0,
    // Backends are titled "postgres: <user> <db> <client> <state>"; the rest is the server's own work.
    postgresBackground: pgPid ? treeCpuSeconds(pgPid, (cmd) => !cmd.startsWith('postgres: scanpay ')) : 0,
  };
}

/** CPU milliseconds per item between two snapshots. */
export function cpuPerItem(a: CpuSnapshot, b: CpuSnapshot, items: number): CpuSnapshot {
  const per = (k: keyof CpuSnapshot) => (items ? ((b[k] - a[k]) * 1000) / items : NaN);
  return { web: per('web'), worker: per('worker'), baseline: per('baseline'), postgres: per('postgres'), postgresBackground: per('postgresBackground') };
}
