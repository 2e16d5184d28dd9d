// Reconciliation at scale (issue 16 §7): a 100,000-row trade bill (ALL, WeChat's file format) and its fund-flow
// bill imported and matched against 100,000 paid attempts, on a fresh embedded Postgres. Timed: storeFile for
// both files (parse, gzip, rows) + matchDay + computeReport. Peak extra RSS = the highest RSS of this process
// during the timed part minus its RSS just before. The ledger is written by SQL (setup, untimed).
// Also reported: this process's own CPU seconds in the timed part (parse, gzip, JSON; Postgres works in its own
// processes) and the time of each phase, since on a shared 2-core machine the wall clock mostly measures the others.
// Run on its own: `node --expose-gc --import tsx scripts/bench/scenarios/reconciliation.ts [rows]`.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { createDb, type Db } from '@/db/client';
import { ensureEmbeddedPostgres } from '@/db/embedded';
import { runMigrations } from '@/db/migrate';
import { loadEnv } from '@/server/env';
import type { PaymentDeps } from '@/server/payments/deps';
import { dayBounds } from '@/server/reconciliation/days';
import { storeFile } from '@/server/reconciliation/import';
import { matchDay } from '@/server/reconciliation/match';
import { computeReport, matchedRowsQuery } from '@/server/reconciliation/report';

const DATE = '2026-06-01';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
const bjTime = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
const line = (vals: string[]) => vals.map((v) => `\`${v}`).join(',');

/** A day's trade bill (ALL) and fund-flow bill (BASIC) of `n` payments from `fromMs`, in WeChat's format. */
export function bills(n: number, fromMs: number): { trade: Buffer; fund: Buffer } {
  const cols =
    '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
  const fcols = '记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号';
  const t: string[] = [cols];
  const f: string[] = [fcols];
  let total = 0;
  let fees = 0;
  let balance = 0;
  for (let i = 0; i < n; i++) {
    const amount = 100 + (i % 5000);
    const fee = Math.floor((amount * 6000 + 500_000) / 1_000_000);
    const at = bjTime(fromMs + Math.floor((i * 86_000_000) / n));
    const txId = `42000${String(i).padStart(23, '0')}`;
    const no = `BENCH${String(i).padStart(10, '0')}`;
    t.push(
      line([
        at,
        'wxbench',
        '1900000001',
        '0',
        '',
        txId,
        no,
        'openid',
        'NATIVE',
        'SUCCESS',
        'OTHERS',
        'CNY',
        yuan(amount),
        '0.00',
        '0',
        '0',
        '0.00',
        '0.00',
        '',
        '',
        '商品',
        '',
        `${yuan(fee)}000`,
        '0.60%',
        yuan(amount),
        '0.00',
        '',
      ]),
    );
    balance += amount;
    f.push(line([at, txId, `F${i}`, '交易', '交易', '收入', yuan(amount), yuan(balance), 'system', '', no]));
    balance -= fee;
    if (fee > 0) f.push(line([at, txId, `G${i}`, '手续费', '扣除交易手续费', '支出', yuan(fee), yuan(balance), 'system', '', no]));
    total += amount;
    fees += fee;
  }
  t.push('总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额');
  t.push(line([String(n), yuan(total), '0.00', '0.00', yuan(fees), yuan(total), '0.00']));
  const income = f.length - 1 - (f.length - 1 - n);
  f.push('资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额');
  f.push(line([String(f.length - 2), String(income), yuan(total), String(f.length - 2 - income), yuan(fees)]));
  return { trade: Buffer.from(`\uFEFF${t.join('\r\n')}\r\n`), fund: Buffer.from(`\uFEFF${f.join('\r\n')}\r\n`) };
}

/** Our ledger for `bills(n, from)`: one paid order and attempt per bill row (same ids, amounts and times). */
export async function seedLedger(db: Db, rows: number, from: Date): Promise<void> {
  await db.execute(sql`
      with g as (select i, gen_random_uuid() as oid, (100 + i % 5000) as amount,
                        ${from.toISOString()}::timestamptz + ((i::bigint * 86000000 / ${rows}) || ' milliseconds')::interval as at
                 from generate_series(0, ${rows - 1}) i),
      o as (insert into orders (id, token, status, amount_fen, description, transaction_id, paid_at, paid_via)
            select oid, 'bench' || i, 'paid', amount, '商品', '42000' || lpad(i::text, 23, '0'), at, 'notify' from g returning id)
      insert into payment_attempts (order_id, out_trade_no, status, amount_fen, description, time_expire, expires_at, transaction_id, paid_at, paid_via)
      select oid, 'BENCH' || lpad(i::text, 10, '0'), 'paid', amount, '商品', '', at + interval '15 minutes', '42000' || lpad(i::text, 23, '0'), at, 'notify' from g`);
}

export async function runReconciliationBench(rows = 100_000): Promise<{
  rows: number;
  fundRows: number;
  seconds: number;
  phases: Record<string, number>;
  /** Peak extra RSS within each phase. */
  phasePeakMb: Record<string, number>;
  nodeCpuSeconds: number;
  peakExtraRssMb: number;
  matchedPercent: number;
  findings: number;
  loadAverage: number;
}> {
  const dataDir = path.resolve('.data/bench', `recon-${process.pid}`);
  const pg = await ensureEmbeddedPostgres({ dataDir, port: await freePort(), database: 'scanpay_bench_recon' });
  try {
    await runMigrations(pg.url);
    const { db, sql: client } = createDb(pg.url, { max: 4 });
    const { from } = dayBounds(DATE);
    await seedLedger(db, rows, from);
    const { trade, fund } = bills(rows, from.getTime());
    const deps = {
      env: loadEnv(),
      db,
      clock: { now: () => new Date() },
      gateway: () => {
        throw new Error('no WeChat in the benchmark');
      },
    } as unknown as PaymentDeps;
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    let phasePeak = base;
    const sampler = setInterval(() => {
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      phasePeak = Math.max(phasePeak, rss);
    }, 20);
    const loadAverage = os.loadavg()[0]!;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
    const phases: Record<string, number> = {};
    const phasePeakMb: Record<string, number> = {};
    let last = t0;
    const lap = (label: string) => {
      const now = performance.now();
      phases[label] = Math.round(now - last) / 1000;
      phasePeakMb[label] = Math.round((Math.max(phasePeak, process.memoryUsage().rss) - base) / 1048576);
      phasePeak = 0;
      last = now;
      if (process.env.BENCH_VERBOSE) console.error(`${label}: ${((now - t0) / 1000).toFixed(2)} s`);
    };
    await storeFile(db, DATE, 'trade_ALL', trade, sha1(trade));
    lap('tradeBill');
    const fundOutcome = await storeFile(db, DATE, 'fund_BASIC', fund, sha1(fund));
    lap('fundBill');
    const matched = await matchDay(deps, DATE);
    lap('match');
    const report = await computeReport(db, DATE, 6000);
    lap('report');
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    // BENCH_EXPLAIN=1: the matched-% plan (untimed), to check it stays set-based (hash joins, no per-row loop).
    if (process.env.BENCH_EXPLAIN) {
      const plan = await db.execute<{ 'QUERY PLAN': string }>(sql`explain (analyze, costs off) ${matchedRowsQuery(DATE)}`);
      console.error(plan.map((r) => r['QUERY PLAN']).join('\n'));
    }
    await client.end();
    return {
      rows,
      fundRows: fundOutcome.rows,
      seconds: Math.round(seconds * 100) / 100,
      phases,
      phasePeakMb,
      nodeCpuSeconds: Math.round((cpu.user + cpu.system) / 10_000) / 100,
      peakExtraRssMb: Math.round((peak - base) / 1048576),
      matchedPercent: report.matchedPercent,
      findings: matched.findings,
      loadAverage,
    };
  } finally {
    await pg.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runReconciliationBench(Number(process.argv[2] ?? 100_000)).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
