// Output: a table per scenario on the terminal, docs/benchmarks.json (the issue's shape, numbers only),
// docs/benchmarks.md (machine, tables, chart, targets with pass/fail) and docs/benchmarks.svg (the chart).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CheckoutResult } from '../scenarios/checkout';
import type { NotifyResult } from '../scenarios/notify';
import type { CeilingRow } from '../scenarios/ceiling';
import type { OpenLoopRow } from '../scenarios/openloop';
import type { PaidRow } from '../scenarios/paid';
import type { QueueRow } from '../scenarios/queue';
import { ROOT, type BenchOptions } from './config';
import { round } from './stats';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryMb: number;
  loadAvgAtStart: number;
  node: string;
  postgres: string;
  nextVersion: string;
  pgBossVersion: string;
}

export interface Results {
  opts: BenchOptions;
  machine: Machine;
  startedAt: Date;
  durationS: number;
  distDir: string;
  notify?: NotifyResult;
  openLoop?: OpenLoopRow[];
  ceiling?: CeilingRow;
  paid?: PaidRow[];
  checkout?: CheckoutResult;
  queue?: QueueRow[];
}

// ---------------------------------------------------------------------------------------------------
// Terminal tables

export function table(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');
  return [`\n${title}`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return String(round(n));
}

function mdTable(header: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...cells.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );
}

interface Section {
  title: string;
  header: string[];
  rows: (string | number)[][];
  /** A second table under the same heading. */
  extra?: { header: string[]; rows: (string | number)[][] };
  note?: string;
}

function notifySection(r: Results): Section | undefined {
  if (!r.notify) return undefined;
  const rows = [1, 16, 64, 256].map((c) => {
    const s = r.notify!.rows.find((x) => x.system === 'scanpay' && x.concurrency === c)!;
    const b = r.notify!.rows.find((x) => x.system === 'baseline' && x.concurrency === c)!;
    return [`c${c}`, s.rps, s.p50, s.p95, s.p99, s.non2xx + s.errors, b.rps, b.p50, b.p99, b.non2xx + b.errors, s.rps / b.rps];
  });
  // CPU per notification: what ingestion costs in each server, independent of what else ran on the machine.
  const inProcess = r.opts.workers === 0;
  const cpuRows = [1, 16, 64, 256].map((c) => {
    const s = r.notify!.rows.find((x) => x.system === 'scanpay' && x.concurrency === c)!;
    const b = r.notify!.rows.find((x) => x.system === 'baseline' && x.concurrency === c)!;
    // In-process worker: the web's CPU during the baseline run is the worker's share; subtract it.
    const nextIngest = inProcess ? s.cpu.web - b.cpu.web : s.cpu.web;
    return [
      `c${c}`,
      nextIngest,
      b.cpu.baseline,
      nextIngest / b.cpu.baseline,
      inProcess ? b.cpu.web : (s.cpu.worker + b.cpu.worker) / 2,
      s.cpu.postgres,
      b.cpu.postgres,
    ];
  });
  return {
    title: 'Notify ingestion (closed loop, distinct signed + encrypted notifications for real orders)',
    header: ['concurrency', 'Scanpay req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', 'baseline req/s', 'base p50', 'base p99', 'base non-2xx', 'ratio'],
    rows,
    extra: {
      header: [
        'concurrency',
        'Scanpay web CPU ms/notification',
        'baseline CPU ms/notification',
        'Scanpay / baseline',
        'worker CPU ms/job',
        'Postgres CPU ms (Scanpay run)',
        'Postgres CPU ms (baseline run)',
      ],
      rows: cpuRows,
    },
    note:
      'CPU ms per notification over each run and its drain (process trees from /proc). ' +
      (inProcess
        ? 'The worker runs inside a web process, so the web CPU of the baseline run (the worker\'s share only) is subtracted from that of the Scanpay run to get the web tier\'s ingestion cost, and "worker CPU ms/job" is that share. '
        : 'The worker runs in its own process(es). ') +
      'At c1 the figures carry the idle background work of the processes (pg-boss polling, the worker loops) over a long, slow run.',
  };
}

function ceilingSection(r: Results): Section | undefined {
  const c = r.ceiling;
  if (!c) return undefined;
  const s = r.notify?.rows.find((x) => x.system === 'scanpay' && x.concurrency === c.concurrency);
  return {
    title: `The database's ceiling: pgbench running the ingestion statement itself (c${c.concurrency})`,
    header: ['pgbench', 'seconds', 'tx/s', `Scanpay notify c${c.concurrency} req/s`, 'Scanpay / ceiling'],
    rows: [[c.skipped ?? c.pgbench, c.seconds, c.tps, s ? s.rps : '—', s && c.tps ? `${(s.rps / c.tps).toFixed(2)} ×` : '—']],
    note: 'The same INSERT (inbox row + job) with no HTTP, signature check, decryption or Node: what Postgres alone does on this machine. Its jobs go to a dead-letter queue nobody works.',
  };
}

function openLoopSection(r: Results): Section | undefined {
  if (!r.openLoop) return undefined;
  return {
    title: `Notify ingestion, open loop (latency from the scheduled send time)`,
    header: ['system', 'offered/s', 'achieved/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'non-2xx', 'sent late p99 / max ms'],
    rows: r.openLoop.map((o) => [
      o.system,
      o.rate,
      o.achievedRps,
      o.p50,
      o.p95,
      o.p99,
      o.max,
      o.non2xx + o.errors,
      o.sendLateP99 === undefined ? '—' : `${o.sendLateP99} / ${o.sendLateMax}`,
    ]),
    note:
      'peer: the common design (Jeepay, most hand-written handlers) — the payment is processed inside the notify request (lock, cross-check, update, timeline, outbox) before WeChat gets its answer. ' +
      'Sent late: how far behind its schedule the load generator sent a request — the sender itself waiting for a CPU. It counts in the latency all the same.',
  };
}

function paidSection(r: Results): Section | undefined {
  if (!r.paid) return undefined;
  return {
    title: 'Notify → paid seen by a checkout.onStatus SSE subscriber (open loop)',
    header: [
      'rate/s',
      'notifications',
      'subscribers',
      'p50 ms',
      'p99 ms',
      'max ms',
      'not seen in 60 s',
      'non-2xx',
      'notify p99 ms',
      'p50 queue wait',
      'p50 processing',
      'p50 to stream',
      'CPU ms/notif. web',
      'worker',
      'Postgres',
    ],
    rows: r.paid.map((p) => [
      p.rate,
      p.notifications,
      p.subscribers,
      p.p50,
      p.p99,
      p.max,
      p.lost,
      p.non2xx,
      p.notifyP99,
      p.legs.queueWait,
      p.legs.processing,
      p.legs.delivery,
      p.cpu.web,
      p.cpu.worker,
      p.cpu.postgres,
    ]),
    note: "Legs (p50 of each, so they need not add up): queue wait = 2xx → pg-boss job started_on; processing = started_on → inbox processed_at; to stream = processed_at → the `paid` view read off the SSE stream (commit, NOTIFY, LISTEN, the view query, SSE). CPU per notification covers ingestion, processing and the subscribers' updates, from the first send to the drained queue; at 10/s and 100/s it is dominated by the idle background work (pg-boss polling, open SSE streams) and means little. With the worker in a web process, its CPU is in the web column.",
  };
}

function checkoutSection(r: Results): Section | undefined {
  if (!r.checkout) return undefined;
  const c = r.checkout;
  const rows: (string | number)[][] = c.create.map((x) => [
    `checkout.create, sim API latency ${x.latencyMs} ms`,
    x.summary.p50,
    x.summary.p95,
    x.summary.p99,
    x.summary.count,
  ]);
  rows.push([`GET /checkout/<token> TTFB (HTTP)`, c.page.ttfb.p50, c.page.ttfb.p95, c.page.ttfb.p99, c.page.samples]);
  rows.push([`GET /checkout/<token> QR's bytes received`, c.page.qrBytes.p50, c.page.qrBytes.p95, c.page.qrBytes.p99, c.page.qrBytes.count]);
  rows.push([`GET /checkout/<token> full HTML`, c.page.full.p50, c.page.full.p95, c.page.full.p99, c.page.samples]);
  if ('error' in c.browser) rows.push(['Chromium', `failed: ${c.browser.error}`, '', '', '']);
  else {
    rows.push(['Chromium TTFB (cold context)', c.browser.ttfb.p50, c.browser.ttfb.p95, c.browser.ttfb.p99, c.browser.samples]);
    rows.push(['Chromium QR rendered (cold context)', c.browser.qrRendered.p50, c.browser.qrRendered.p95, c.browser.qrRendered.p99, c.browser.samples]);
  }
  return {
    title: `Checkout (QR code in the first HTML: ${c.page.qrInFirstHtml ? 'yes' : 'NO'})`,
    header: ['measure', 'p50 ms', 'p95 ms', 'p99 ms', 'samples'],
    rows,
  };
}

function queueSection(r: Results): Section | undefined {
  if (!r.queue) return undefined;
  return {
    title: 'Queue: payment.process-notification jobs through the real handler',
    header: ['worker processes', 'jobs', 'seconds', 'jobs/s', 'worker CPU ms/job', 'Postgres CPU ms/job', 'peak RSS per worker MB', 'orders left unpaid'],
    rows: r.queue.map((q) => [q.workers, q.jobs, q.seconds, q.jobsPerSecond, q.workerCpuMs, q.postgresCpuMs, q.workerRssMb, q.unpaid]),
    note: 'CPU ms/job = CPU time used by the worker processes (resp. Postgres: postmaster + backends) from the commit to the last job, divided by the jobs: the cost of one job, whatever else the machine was doing.',
  };
}

function resourcesSection(r: Results): Section | undefined {
  if (!r.notify) return undefined;
  const p = r.notify.resources;
  // Peaks come from samples that may all have been lost (samplePeaks drops failed ones): an unmeasured peak
  // shows as '—', as fmt shows every missing figure.
  const peak = (k: string) => p[k] ?? NaN;
  const rows: (string | number)[][] = [
    ['web RSS, largest single process (MB)', peak('web_rss_max_mb')],
    ['web RSS, all web processes (MB)', peak('web_rss_mb')],
    ['worker RSS, largest single process (MB)', r.opts.workers ? peak('worker_rss_max_mb') : 'in web process 0'],
    ['Postgres connections (total)', peak('pg_connections')],
    ['  of which active at once', peak('pg_active')],
  ];
  for (const role of ['web', 'live', 'worker', 'sim', 'other']) {
    const connections = p[`pg_${role}`];
    if (connections !== undefined) rows.push([role === 'sim' ? '  the WeChat Pay simulator (not counted)' : `  ${role}`, connections]);
  }
  return { title: 'Resources during the notify runs (peaks)', header: ['resource', 'peak'], rows };
}

export function sections(r: Results): Section[] {
  return [notifySection(r), ceilingSection(r), openLoopSection(r), paidSection(r), checkoutSection(r), queueSection(r), resourcesSection(r)].filter(
    (s): s is Section => !!s,
  );
}

export function printTables(r: Results): void {
  for (const s of sections(r)) {
    console.log(table(s.title, s.header, s.rows));
    if (s.extra) console.log(table('', s.extra.header, s.extra.rows));
  }
  const t = targets(r);
  if (t.length)
    console.log(
      table(
        'Targets (issue 6)',
        ['target', 'measured', 'result'],
        t.map((x) => [x.target, x.measured, x.pass === null ? 'n/a' : x.pass ? 'PASS' : 'FAIL']),
      ),
    );
}

// ---------------------------------------------------------------------------------------------------
// JSON in the issue's shape

function versionNumbers(v: string): number[] {
  return (v.match(/\d+/g) ?? []).slice(0, 3).map(Number);
}

export function resultsJson(r: Results) {
  const [nodeMajor, nodeMinor, nodePatch] = versionNumbers(r.machine.node);
  const [pgMajor, pgMinor] = versionNumbers(r.machine.postgres);
  const n = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? -1 : round(v));
  const out: Record<string, unknown> = {
    machine: {
      cores: r.machine.cores,
      memory_mb: r.machine.memoryMb,
      load_avg_1m_at_start: round(r.machine.loadAvgAtStart),
      node_major: nodeMajor,
      node_minor: nodeMinor,
      node_patch: nodePatch ?? 0,
      postgres_major: pgMajor,
      postgres_minor: pgMinor ?? 0,
      web_processes: r.opts.webs,
      worker_processes: r.opts.workers,
      quick: r.opts.quick ? 1 : 0,
      run_at_epoch_ms: r.startedAt.getTime(),
    },
  };
  if (r.notify) {
    const notify: Record<string, unknown> = {};
    for (const c of [1, 16, 64, 256]) {
      const s = r.notify.rows.find((x) => x.system === 'scanpay' && x.concurrency === c);
      const b = r.notify.rows.find((x) => x.system === 'baseline' && x.concurrency === c);
      if (!s || !b) continue;
      notify[`c${c}`] = {
        rps: n(s.rps),
        p50_ms: n(s.p50),
        p95_ms: n(s.p95),
        p99_ms: n(s.p99),
        errors: s.non2xx + s.errors,
        baseline_rps: n(b.rps),
        ratio: Math.round((s.rps / b.rps) * 1000) / 1000,
      };
    }
    out.notify = notify;
  }
  if (r.paid) {
    const paid: Record<string, unknown> = {};
    for (const p of r.paid) paid[`r${p.rate}`] = { p50_ms: n(p.p50), p99_ms: n(p.p99), max_ms: n(p.max) };
    out.notifyToPaid = paid;
  }
  if (r.checkout) {
    out.checkout = { ttfb_ms: n(r.checkout.page.ttfb.p50), create_ms: n(r.checkout.create.find((c) => c.latencyMs === 0)?.summary.p50) };
  }
  if (r.queue) {
    out.queue = {
      jobs_per_s_1w: n(r.queue.find((q) => q.workers === 1)?.jobsPerSecond),
      jobs_per_s_2w: n(r.queue.find((q) => q.workers === 2)?.jobsPerSecond),
    };
  }
  if (r.notify) {
    const p = r.notify.resources;
    const workerRss = r.opts.workers ? p.worker_rss_max_mb : Math.max(0, ...(r.queue ?? []).map((q) => q.workerRssMb));
    out.resources = { web_rss_mb: n(p.web_rss_max_mb), worker_rss_mb: n(workerRss), pg_connections: n(p.pg_connections) };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Targets

interface TargetResult {
  target: string;
  measured: string;
  pass: boolean | null;
}

export function targets(r: Results): TargetResult[] {
  const out: TargetResult[] = [];
  const f = (v: number | undefined, unit = '') => (v === undefined || !Number.isFinite(v) ? '—' : `${round(v)}${unit}`);
  if (r.notify) {
    for (const c of [64, 256]) {
      const s = r.notify.rows.find((x) => x.system === 'scanpay' && x.concurrency === c);
      const b = r.notify.rows.find((x) => x.system === 'baseline' && x.concurrency === c);
      if (!s || !b) continue;
      const ratio = s.rps / b.rps;
      out.push({
        target: `notify c${c}: Scanpay ≥ 0.85 × bare baseline, zero non-2xx`,
        measured: `${round(s.rps)} vs ${round(b.rps)} req/s = ${ratio.toFixed(2)} ×, ${s.non2xx + s.errors} non-2xx`,
        pass: ratio >= 0.85 && s.non2xx + s.errors === 0,
      });
    }
  }
  const ol = r.openLoop?.find((o) => o.system === 'scanpay');
  if (ol)
    out.push({
      target: `notify open loop ${ol.rate}/s: p99 < 30 ms`,
      measured: `p99 ${f(ol.p99, ' ms')}, ${ol.non2xx + ol.errors} non-2xx`,
      pass: ol.p99 < 30 && ol.non2xx + ol.errors === 0,
    });
  const r100 = r.paid?.find((p) => p.rate === 100);
  if (r100)
    out.push({
      target: 'notify → paid at 100/s: p50 < 30 ms, p99 < 150 ms',
      measured: `p50 ${f(r100.p50, ' ms')}, p99 ${f(r100.p99, ' ms')}${r100.lost ? `, ${r100.lost} not seen within 60 s` : ''}`,
      pass: r100.p50 < 30 && r100.p99 < 150 && r100.lost === 0,
    });
  const r500 = r.paid?.find((p) => p.rate === 500);
  if (r500)
    out.push({
      target: 'notify → paid at 500/s: p99 < 500 ms',
      measured: `p99 ${f(r500.p99, ' ms')}${r500.lost ? `, ${r500.lost} not seen within 60 s` : ''}`,
      pass: r500.p99 < 500 && r500.lost === 0,
    });
  const q2 = r.queue?.find((q) => q.workers === 2);
  if (q2)
    out.push({ target: 'queue: ≥ 2,000 payment jobs/s with 2 worker processes', measured: `${f(q2.jobsPerSecond)} jobs/s`, pass: q2.jobsPerSecond >= 2000 });
  if (r.checkout) {
    const c = r.checkout;
    out.push({
      target: 'checkout page: TTFB p50 < 50 ms with the QR in the first HTML',
      measured: `TTFB p50 ${f(c.page.ttfb.p50, ' ms')}, QR in first HTML: ${c.page.qrInFirstHtml ? 'yes' : 'no'}`,
      pass: c.page.ttfb.p50 < 50 && c.page.qrInFirstHtml,
    });
    for (const x of c.create) {
      out.push({
        target: `checkout.create p50 < 30 ms + ${x.latencyMs} ms simulator API latency`,
        measured: `p50 ${f(x.summary.p50, ' ms')}`,
        pass: x.summary.p50 < 30 + x.latencyMs && x.failures === 0,
      });
    }
  }
  if (r.notify) {
    const json = resultsJson(r).resources as { web_rss_mb: number; worker_rss_mb: number; pg_connections: number };
    out.push({ target: 'web RSS < 300 MB (per web process)', measured: `${f(json.web_rss_mb, ' MB')}`, pass: json.web_rss_mb < 300 });
    out.push({
      target: 'worker RSS < 200 MB (per worker process)',
      measured: `${f(json.worker_rss_mb, ' MB')}${r.opts.workers ? '' : ' (worker in the web process during notify; figure from the queue run)'}`,
      pass: json.worker_rss_mb > 0 ? json.worker_rss_mb < 200 : null,
    });
    out.push({ target: 'Postgres connections ≤ 30 in total during the notify run', measured: `${f(json.pg_connections)}`, pass: json.pg_connections <= 30 });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Chart (SVG, no dependencies)

export function chartSvg(r: Results): string {
  const W = 900;
  const H = 360;
  const parts: string[] = [];
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);

  // Left: notify requests/s, Scanpay vs baseline, per concurrency.
  if (r.notify) {
    const x0 = 60,
      y0 = 300,
      w = 380,
      h = 240;
    const levels = [1, 16, 64, 256];
    const vals = levels.map((c) => ({
      c,
      s: r.notify!.rows.find((x) => x.system === 'scanpay' && x.concurrency === c)?.rps ?? 0,
      b: r.notify!.rows.find((x) => x.system === 'baseline' && x.concurrency === c)?.rps ?? 0,
    }));
    const top = Math.max(1, ...vals.flatMap((v) => [v.s, v.b])) * 1.12;
    const stepRaw = top / 4;
    const mag = 10 ** Math.floor(Math.log10(stepRaw));
    const step = [1, 2, 2.5, 3, 4, 5, 10].map((k) => k * mag).find((k) => k >= stepRaw)!;
    const max = step * 4;
    parts.push(`<text x="${x0}" y="30" font-size="14" font-weight="600">Notify ingestion: requests/s by concurrency</text>`);
    for (let t = 0; t <= 4; t++) {
      const v = (max / 4) * t;
      const y = y0 - (h * t) / 4;
      parts.push(
        `<line x1="${x0}" x2="${x0 + w}" y1="${y}" y2="${y}" stroke="#e5e5e5"/><text x="${x0 - 6}" y="${y + 4}" text-anchor="end" fill="#555">${Math.round(v)}</text>`,
      );
    }
    const gw = w / levels.length;
    vals.forEach((v, i) => {
      const gx = x0 + i * gw + gw * 0.15;
      const bw = gw * 0.33;
      const hs = (h * v.s) / max;
      const hb = (h * v.b) / max;
      parts.push(`<rect x="${gx}" y="${y0 - hs}" width="${bw}" height="${hs}" fill="#2563eb"><title>Scanpay ${Math.round(v.s)}/s</title></rect>`);
      parts.push(`<rect x="${gx + bw + 2}" y="${y0 - hb}" width="${bw}" height="${hb}" fill="#9ca3af"><title>baseline ${Math.round(v.b)}/s</title></rect>`);
      parts.push(`<text x="${gx + bw}" y="${y0 - Math.max(hs, hb) - 6}" text-anchor="middle" fill="#111">${v.b ? (v.s / v.b).toFixed(2) : '—'}×</text>`);
      parts.push(`<text x="${gx + bw}" y="${y0 + 16}" text-anchor="middle">c=${v.c}</text>`);
      // 0.85 × baseline target mark at c64 and c256
      if (v.c >= 64 && v.b) {
        const yt = y0 - (h * 0.85 * v.b) / max;
        parts.push(`<line x1="${gx - 3}" x2="${gx + bw + 3}" y1="${yt}" y2="${yt}" stroke="#dc2626" stroke-dasharray="4 2"/>`);
      }
    });
    parts.push(
      `<rect x="${x0}" y="${y0 + 30}" width="10" height="10" fill="#2563eb"/><text x="${x0 + 14}" y="${y0 + 39}">${r.opts.server === 'serve' ? 'Scanpay (npm start)' : 'Scanpay (next start)'}</text>`,
    );
    parts.push(`<rect x="${x0 + 152}" y="${y0 + 30}" width="10" height="10" fill="#9ca3af"/><text x="${x0 + 166}" y="${y0 + 39}">one bare process</text>`);
    parts.push(
      `<line x1="${x0 + 300}" x2="${x0 + 316}" y1="${y0 + 35}" y2="${y0 + 35}" stroke="#dc2626" stroke-dasharray="4 2"/><text x="${x0 + 320}" y="${y0 + 39}">0.85 × bare</text>`,
    );
  }

  // Right: notify → paid latency (p50, p99, max) per rate, log scale, with the targets.
  if (r.paid?.length) {
    const x0 = 530,
      y0 = 300,
      w = 340,
      h = 240;
    const lo = 1,
      hi = Math.max(1000, ...r.paid.map((p) => (Number.isFinite(p.max) ? p.max : 0))) * 1.2;
    const ly = (v: number) => y0 - (h * (Math.log10(Math.max(lo, v)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
    parts.push(`<text x="${x0}" y="30" font-size="14" font-weight="600">Notify → paid on the SSE stream (ms, log)</text>`);
    for (const v of [1, 10, 100, 1000, 10000].filter((v) => v <= hi)) {
      parts.push(
        `<line x1="${x0}" x2="${x0 + w}" y1="${ly(v)}" y2="${ly(v)}" stroke="#e5e5e5"/><text x="${x0 - 6}" y="${ly(v) + 4}" text-anchor="end" fill="#555">${v}</text>`,
      );
    }
    const gw = w / r.paid.length;
    r.paid.forEach((p, i) => {
      const gx = x0 + i * gw + gw * 0.12;
      const bw = gw * 0.24;
      const series: [number, string, string][] = [
        [p.p50, '#16a34a', 'p50'],
        [p.p99, '#f59e0b', 'p99'],
        [p.max, '#dc2626', 'max'],
      ];
      series.forEach(([v, color, name], k) => {
        if (!Number.isFinite(v)) return;
        const y = ly(v);
        parts.push(`<rect x="${gx + k * (bw + 2)}" y="${y}" width="${bw}" height="${y0 - y}" fill="${color}"><title>${name} ${round(v)} ms</title></rect>`);
      });
      parts.push(`<text x="${gx + 1.5 * bw}" y="${y0 + 16}" text-anchor="middle">${p.rate}/s</text>`);
      const target = p.rate === 100 ? 150 : p.rate === 500 ? 500 : undefined;
      if (target)
        parts.push(
          `<line x1="${gx - 3}" x2="${gx + 3 * bw + 7}" y1="${ly(target)}" y2="${ly(target)}" stroke="#111" stroke-dasharray="4 2"><title>p99 target ${target} ms</title></line>`,
        );
    });
    const lx = x0;
    parts.push(`<rect x="${lx}" y="${y0 + 30}" width="10" height="10" fill="#16a34a"/><text x="${lx + 14}" y="${y0 + 39}">p50</text>`);
    parts.push(`<rect x="${lx + 50}" y="${y0 + 30}" width="10" height="10" fill="#f59e0b"/><text x="${lx + 64}" y="${y0 + 39}">p99</text>`);
    parts.push(`<rect x="${lx + 100}" y="${y0 + 30}" width="10" height="10" fill="#dc2626"/><text x="${lx + 114}" y="${y0 + 39}">max</text>`);
    parts.push(
      `<line x1="${lx + 150}" x2="${lx + 166}" y1="${y0 + 35}" y2="${y0 + 35}" stroke="#111" stroke-dasharray="4 2"/><text x="${lx + 170}" y="${y0 + 39}">p99 target</text>`,
    );
  }
  parts.push(
    `<text x="${W - 8}" y="${H - 6}" text-anchor="end" fill="#888" font-size="10">${esc(`${r.machine.cores} cores · Node ${r.machine.node} · PostgreSQL ${r.machine.postgres} · ${r.startedAt.toISOString().slice(0, 16)}Z${r.opts.quick ? ' · --quick' : ''}`)}</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Markdown

const HISTORY_START = '<!-- history:start -->';
const HISTORY_END = '<!-- history:end -->';
const ANALYSIS_START = '<!-- analysis:start (kept across runs: written by hand) -->';
const ANALYSIS_END = '<!-- analysis:end -->';

/** The hand-written analysis section of the previous file, kept verbatim. */
function previousAnalysis(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(ANALYSIS_START);
  const b = text.indexOf(ANALYSIS_END);
  return a >= 0 && b > a ? text.slice(a, b + ANALYSIS_END.length) : undefined;
}

function previousHistory(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(HISTORY_START);
  const b = text.indexOf(HISTORY_END);
  if (a < 0 || b < a) return [];
  return text
    .slice(a + HISTORY_START.length, b)
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| run ') && !/^\|\s*-/.test(l));
}

function historyRow(r: Results): string {
  const j = resultsJson(r) as any;
  const v = (x: unknown) => (typeof x === 'number' && x >= 0 ? String(x) : '—');
  return `| ${r.startedAt.toISOString().slice(0, 16).replace('T', ' ')} ${r.opts.label ?? ''}${r.opts.quick ? ' (quick)' : ''} | ${r.opts.server === 'serve' ? 'serve.ts' : 'next start'} ×${r.opts.webs} / ${r.opts.workers ? `${r.opts.workers} worker` : 'in-process worker'} | ${v(j.notify?.c64?.rps)} / ${v(j.notify?.c64?.baseline_rps)} (${v(j.notify?.c64?.ratio)}) | ${v(j.notify?.c256?.rps)} / ${v(j.notify?.c256?.baseline_rps)} (${v(j.notify?.c256?.ratio)}) | ${v(j.notifyToPaid?.r100?.p50_ms)} / ${v(j.notifyToPaid?.r100?.p99_ms)} | ${v(j.notifyToPaid?.r500?.p99_ms)} | ${v(j.queue?.jobs_per_s_2w)} | ${v(j.checkout?.ttfb_ms)} | ${v(j.checkout?.create_ms)} | ${r.machine.loadAvgAtStart.toFixed(1)} |`;
}

export function markdown(r: Results, docsDir: string, extraNotes: string[]): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push('# Benchmarks');
  lines.push('');
  lines.push('Generated by `npm run bench` (`scripts/bench/run.ts`); do not edit the figures by hand — rerun it.');
  lines.push(
    `Last run: ${r.startedAt.toISOString().slice(0, 19).replace('T', ' ')} UTC, ${r.opts.quick ? '**--quick** (short run, noisier)' : 'full run'}, ${Math.round(r.durationS)} s.`,
  );
  lines.push('');
  lines.push('## Machine');
  lines.push('');
  lines.push(
    mdTable(
      ['', ''],
      [
        ['CPU', `${m.cores} cores (${m.cpuModel})`],
        ['memory', `${(m.memoryMb / 1024).toFixed(1)} GB`],
        ['load average (1 min) at start', `${m.loadAvgAtStart.toFixed(2)} — other work on the machine shares these cores`],
        ['Node', m.node],
        ['PostgreSQL', `${m.postgres} (embedded, fresh data dir per run, default settings, synchronous_commit on)`],
        ['Next / pg-boss', `${m.nextVersion} / ${m.pgBossVersion}`],
      ],
    ),
  );
  lines.push('');
  lines.push('## What runs');
  lines.push('');
  const web =
    r.opts.server === 'serve'
      ? `the web tier exactly as \`npm start\` runs it (\`scripts/serve.ts\`: a Node cluster of ${r.opts.webs} process${r.opts.webs > 1 ? 'es' : ''} running Next on the production build in \`${r.distDir}/\`, with \`POST /api/wechatpay/notify\` answered on its node:http fast path)`
      : `${r.opts.webs} plain \`next start\` process${r.opts.webs > 1 ? 'es' : ''} (the Next route handler; production build in \`${r.distDir}/\`)`;
  const worker = r.opts.workers
    ? `${r.opts.workers === 1 ? 'the job worker as its own process, as `npm start` runs it' : `${r.opts.workers} worker processes`} (\`scripts/worker.ts\`; web with \`RUN_WORKER=false\`), every app process with the heap flags \`npm start\` gives it`
    : 'the job worker in the first web process (`--workers 0`)';
  lines.push(
    `Everything on this one machine, loopback only: embedded PostgreSQL, the WeChat Pay simulator (its own process), ${web}, ${worker}, ` +
      'and the load generators (separate processes: autocannon for closed loops, a scheduled `node:http` sender for open loops, SSE subscribers in a third). ' +
      'App settings are the defaults except `CHECKOUT_RATE_LIMIT_PER_MINUTE=100000` (one client IP creates every order) and ' +
      '`COMPENSATION_TIME_SCALE=100` (so no active query fires during a run).',
  );
  lines.push('');
  lines.push(
    "Every notification is distinct (own id, nonce, timestamp), AES-256-GCM encrypted and RSA-SHA256 signed with the simulator's WeChat Pay key, " +
      'for a real order created beforehand through `createOrder`. The worker processes what is ingested while the load runs, as it would in production, ' +
      'and drains before the next run. **Baseline**: `scripts/bench/baseline-server.ts`, ONE bare `node:http` process calling the very same notify handler ' +
      '(`handleNotifyNode` → `ingestNotificationBytes`: same verification, decryption, inbox row + pg-boss job in one prepared statement and the pg-boss wake-up sent after the commit, same pools, keys and database) ' +
      'with nothing around it — no cluster, no Next, no job worker.',
  );
  lines.push('');
  for (const s of sections(r)) {
    lines.push(`## ${s.title}`);
    lines.push('');
    lines.push(mdTable(s.header, s.rows));
    lines.push('');
    if (s.extra) {
      lines.push(mdTable(s.extra.header, s.extra.rows));
      lines.push('');
    }
    if (s.note) {
      lines.push(s.note);
      lines.push('');
    }
  }
  lines.push('## Chart');
  lines.push('');
  lines.push(`![notify requests/s vs baseline, and notify → paid latency](${path.relative(docsDir, path.join(docsDir, 'benchmarks.svg'))})`);
  lines.push('');
  const t = targets(r);
  if (t.length) {
    lines.push('## Targets (issue 6)');
    lines.push('');
    lines.push(
      mdTable(
        ['target', 'measured', 'result'],
        t.map((x) => [x.target, x.measured, x.pass === null ? 'n/a' : x.pass ? '✅ pass' : '❌ fail']),
      ),
    );
    lines.push('');
  }
  if (extraNotes.length) {
    lines.push('## Notes');
    lines.push('');
    for (const n of extraNotes) lines.push(`- ${n}`);
    lines.push('');
  }
  lines.push('## Analysis');
  lines.push('');
  lines.push(
    previousAnalysis(path.join(docsDir, 'benchmarks.md')) ??
      `${ANALYSIS_START}\n_What limits each missed target, and what to change (edit by hand; kept when the benchmark rewrites this file)._\n${ANALYSIS_END}`,
  );
  lines.push('');
  lines.push('## History (before / after)');
  lines.push('');
  lines.push('One row per run that wrote this file; older rows are kept. Notify cells are Scanpay / baseline req/s (ratio).');
  lines.push('');
  lines.push(HISTORY_START);
  lines.push(
    '| run | topology | notify c64 | notify c256 | →paid 100/s p50 / p99 ms | →paid 500/s p99 ms | queue 2w jobs/s | TTFB p50 ms | create p50 ms | load avg |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  const row = historyRow(r);
  for (const line of [...previousHistory(path.join(docsDir, 'benchmarks.md')).filter((l) => l !== row), row].slice(-30)) lines.push(line);
  lines.push(HISTORY_END);
  lines.push('');
  lines.push('## How to run');
  lines.push('');
  lines.push('```sh');
  lines.push('npm run bench                 # full run (about 5 minutes on 2 cores); writes docs/benchmarks.{md,json,svg}');
  lines.push('npm run bench -- --quick      # short run (about 1.5 minutes)');
  lines.push('npm run bench -- --quick --only notify,paid --no-write   # some scenarios, docs untouched');
  lines.push('npm run bench -- --webs 1 --workers 1   # topology: web processes (WEB_CONCURRENCY), separate worker processes (0 = in web process 0)');
  lines.push('npm run bench -- --quick --only notify,queue --profile   # CPU profiles + pg_stat_statements in .data/bench/profile-report.txt');
  lines.push('npm run bench -- --render        # the docs again from the last run, without measuring');
  lines.push('```');
  lines.push('');
  lines.push(
    'The merchant side has benchmarks of its own, each writing its own page: `npm run bench:console` (docs/benchmarks-console.md), ' +
      '`npm run bench:dashboard` (docs/benchmarks-dashboard.md), `npm run bench:stats` (docs/benchmarks-stats.md), `npm run bench:webhooks` ' +
      '(docs/benchmarks-webhooks.md); the reconciliation one is run as shown in its section above.',
  );
  lines.push('');
  lines.push(
    'It builds `.next-bench/` (compile + generate, no type check) when it is missing or older than the sources, uses its own data dir ' +
      '(`.data/bench`, recreated each run) and ports (Postgres 54400, simulator 3310, web 3300+, baseline 3320; `BENCH_PORT_OFFSET=N` adds N to each, so two checkouts can run side by side), and stops every process it started, also on Ctrl-C. ' +
      'Extra Node flags for experiments: `BENCH_NODE_OPTIONS`, `BENCH_WEB_NODE_OPTIONS`, `BENCH_WORKER_NODE_OPTIONS`; `BENCH_HEAP_FLAGS=off` drops the heap flags `npm start` uses; `BENCH_DB_POOL_MAX` / `BENCH_PGBOSS_POOL_MAX` set the pools of every process.',
  );
  lines.push('');
  return lines.join('\n');
}

export function writeDocs(r: Results, notes: string[]): string[] {
  const docs = path.join(ROOT, 'docs');
  const [jsonFile, mdFile, svgFile] = [path.join(docs, 'benchmarks.json'), path.join(docs, 'benchmarks.md'), path.join(docs, 'benchmarks.svg')];
  writeFileSync(jsonFile, `${JSON.stringify(resultsJson(r), null, 2)}\n`);
  const md = markdown(r, docs, notes);
  writeFileSync(svgFile, `${chartSvg(r)}\n`);
  writeFileSync(mdFile, md);
  return [jsonFile, mdFile, svgFile];
}

// ---------------------------------------------------------------------------------------------------
// The last run's results, so the docs can be rendered again without measuring again (--render).

export function saveResults(r: Results, file: string): void {
  writeFileSync(file, JSON.stringify({ ...r, opts: { ...r.opts, only: [...r.opts.only] }, startedAt: r.startedAt.toISOString() }));
}

export function loadResults(file: string): Results {
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  return { ...raw, opts: { ...raw.opts, only: new Set(raw.opts.only) }, startedAt: new Date(raw.startedAt) } as Results;
}
