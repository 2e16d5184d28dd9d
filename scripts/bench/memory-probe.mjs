// Loaded with --import into app processes under `npm run bench -- --profile`: samples process.memoryUsage()
// every 500 ms into $BENCH_MEMORY_DIR/<pid>.jsonl, so the report can tell V8 heap from native memory; each
// sample also carries the GC pauses and the worst event-loop delay of its interval (what a latency tail
// could come from).
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const dir = process.env.BENCH_MEMORY_DIR;
if (dir) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${process.pid}.jsonl`);
  let gcCount = 0;
  let gcMs = 0;
  let gcMaxMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcCount++;
      gcMs += entry.duration;
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const sample = {
      t: Date.now(),
      rss: m.rss,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      gcCount,
      gcMs: Math.round(gcMs * 10) / 10,
      gcMaxMs: Math.round(gcMaxMs * 10) / 10,
      loopDelayMaxMs: Math.round(loop.max / 1e5) / 10,
    };
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
    gcCount = 0;
    gcMs = 0;
    gcMaxMs = 0;
    loop.reset();
  }, 500);
  timer.unref();
}
