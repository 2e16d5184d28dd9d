// Loaded with --import into app processes under `npm run bench -- --profile`: samples process.memoryUsage()
// every 500 ms into $BENCH_MEMORY_DIR/<pid>.jsonl, so the report can tell V8 heap from native memory.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_MEMORY_DIR;
if (dir) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${process.pid}.jsonl`);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  }, 500);
  timer.unref();
}
