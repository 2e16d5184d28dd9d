// --profile: where the time goes. pg_stat_statements per scenario (Postgres side) and a summary of each app
// process's V8 CPU profile (Node side): self time by function and by package.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Cluster } from './cluster';
import { round } from './stats';

export async function resetStatements(cluster: Cluster): Promise<void> {
  await cluster.db.execute(sql`select pg_stat_statements_reset()`);
}

export async function topStatements(cluster: Cluster, limit = 15): Promise<string> {
  const rows = await cluster.db.execute<{ calls: number; total: number; mean: number; plan: number; query: string; app: string }>(sql`
    select s.calls::int as calls, (s.total_exec_time + s.total_plan_time)::float8 as total, s.mean_exec_time::float8 as mean,
           (s.total_plan_time / greatest(s.calls, 1))::float8 as plan,
           regexp_replace(s.query, '[[:space:]]+', ' ', 'g') as query
    from pg_stat_statements s
    join pg_database d on d.oid = s.dbid and d.datname = current_database()
    where s.query not ilike '%pg_stat_statements%'
    order by s.total_exec_time + s.total_plan_time desc limit ${limit}`);
  const lines = rows.map(
    (r) =>
      `  ${String(round(Number(r.total))).padStart(9)} ms total  ${String(r.calls).padStart(7)} calls  ${String(round(Number(r.mean))).padStart(7)} ms mean  ${String(round(Number(r.plan))).padStart(6)} ms plan  ${r.query.slice(0, 150)}`,
  );
  return lines.join('\n');
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    // split() always yields at least one element; a scope is followed by the package's name.
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    if (pkg === 'next' && /compiled\/next-server|dist\/server/.test(url)) return 'next (server)';
    return pkg;
  }
  if (url.startsWith('node:')) return 'node:internal';
  if (/\.next[^/]*\/server\/chunks/.test(url)) return 'app bundle (.next server chunks: our code + bundled deps)';
  if (url.includes('/server/')) return 'server/ (ours)';
  if (url.includes('/db/')) return 'db/ (ours)';
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

const sources = new Map<string, string[]>();

/** Bundled, minified server chunks have one huge line: show the code at the column to tell functions apart. */
function minifiedContext(frame: { url: string; lineNumber: number; columnNumber?: number }): string {
  if (!/\.next[^/]*\/server\/chunks\//.test(frame.url) || frame.columnNumber === undefined) return '';
  const file = frame.url.replace(/^file:\/\//, '');
  if (!sources.has(file)) {
    try {
      sources.set(file, readFileSync(file, 'utf8').split('\n'));
    } catch {
      sources.set(file, []);
    }
  }
  const line = sources.get(file)![frame.lineNumber] ?? '';
  return line.length > 500 ? ` [${line.slice(Math.max(0, frame.columnNumber - 40), frame.columnNumber + 60).replace(/\s+/g, ' ')}]` : '';
}

export function summarizeCpuProfiles(dir: string, top = 20): string {
  if (!existsSync(dir)) return '(no CPU profiles)';
  const out: string[] = [];
  for (const label of readdirSync(dir).sort()) {
    for (const mem of readdirSync(path.join(dir, label)).filter((f) => f.endsWith('.jsonl'))) {
      const samples = readFileSync(path.join(dir, label, mem), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, number>);
      // memory-probe.mjs writes every memory key in every sample (the GC keys only since it measures GC: see withGc).
      const peak = (k: string) => (Math.max(...samples.map((x) => x[k]!)) / 1024 / 1024).toFixed(0);
      const mb = (v: number) => (v / 1024 / 1024).toFixed(0);
      if (samples.length) {
        const atPeak = samples.reduce((a, b) => (b.rss! > a.rss! ? b : a), samples[0]!);
        out.push(
          `\n${label} memory (pid ${mem.replace('.jsonl', '')}): peak rss ${peak('rss')} MB, heapTotal ${peak('heapTotal')} MB, heapUsed ${peak('heapUsed')} MB, external ${peak('external')} MB, arrayBuffers ${peak('arrayBuffers')} MB; ` +
            `at peak rss: heapTotal ${mb(atPeak.heapTotal!)}, heapUsed ${mb(atPeak.heapUsed!)}, external ${mb(atPeak.external!)}, rest (code, stacks, native) ${mb(atPeak.rss! - atPeak.heapTotal! - atPeak.external!)} MB`,
        );
        const withGc = samples.filter((x) => x.gcCount !== undefined);
        if (withGc.length) {
          // Pauses and event-loop stalls: what a latency tail can come from (stalls without GC = CPU starvation).
          const sum = (k: string) => withGc.reduce((a, x) => a + x[k]!, 0);
          const max = (k: string) => Math.max(...withGc.map((x) => x[k]!));
          const stalls = withGc.filter((x) => x.loopDelayMaxMs! > 25).length;
          out.push(
            `${label} pauses (pid ${mem.replace('.jsonl', '')}): ${sum('gcCount')} GCs, ${sum('gcMs').toFixed(0)} ms in total, longest ${max('gcMaxMs')} ms; ` +
              `event-loop delay: worst ${max('loopDelayMaxMs')} ms, ${stalls} of ${withGc.length} half-seconds with a stall > 25 ms`,
          );
        }
      }
    }
    const files = readdirSync(path.join(dir, label)).filter((f) => f.endsWith('.cpuprofile'));
    for (const file of files) {
      const profile = JSON.parse(readFileSync(path.join(dir, label, file), 'utf8')) as CpuProfile;
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      const selfUs = new Map<number, number>();
      for (let i = 0; i < profile.samples.length; i++) {
        const dt = profile.timeDeltas[i + 1] ?? 0;
        const id = profile.samples[i]!;
        selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
      }
      let busy = 0;
      const byFn = new Map<string, number>();
      const byPkg = new Map<string, number>();
      for (const [id, us] of selfUs) {
        const n = byId.get(id)!;
        const fn = n.callFrame.functionName || '(anonymous)';
        if (fn === '(idle)') continue;
        busy += us;
        const key = `${fn}  ${n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|\.next[^/]*|server|db|scripts)\//, '$1/')}:${n.callFrame.lineNumber + 1}${minifiedContext(n.callFrame)}`;
        byFn.set(key, (byFn.get(key) ?? 0) + us);
        const pkg = packageOf(n.callFrame.url, fn);
        byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
      }
      const wall = (profile.endTime - profile.startTime) / 1e6;
      out.push(`\n${label} (${file}): busy ${(busy / 1e6).toFixed(1)} s of ${wall.toFixed(1)} s`);
      out.push('  by package (self time):');
      for (const [pkg, us] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 14)) {
        out.push(`    ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(7)} s  ${pkg}`);
      }
      out.push(`  top ${top} functions (self time):`);
      for (const [fn, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
        out.push(`    ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${fn.slice(0, 160)}`);
      }
    }
  }
  return out.join('\n');
}
