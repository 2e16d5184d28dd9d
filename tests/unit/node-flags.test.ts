// `npm run worker` (package.json) and `npm start` (scripts/start.ts → scripts/lib/node-flags.ts) must give the
// worker the same heap limits, or the benchmark's memory figures would describe a process nobody runs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WEB_HEAP_FLAGS, WORKER_HEAP_FLAGS } from '../../scripts/lib/node-flags';

const root = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

describe('heap flags', () => {
  it('npm run worker uses the worker flags that npm start uses', () => {
    const args = pkg.scripts.worker.split(/\s+/);
    expect(args[0]).toBe('node');
    expect(args.filter((a) => a.startsWith('--max-'))).toEqual([...WORKER_HEAP_FLAGS]);
    expect(args.at(-1)).toBe('scripts/worker.ts');
  });

  it('bounds the old space of every long-running process below the memory targets', () => {
    const oldSpace = (flags: readonly string[]) => Number(flags.find((f) => f.startsWith('--max-old-space-size='))?.split('=')[1]);
    expect(oldSpace(WEB_HEAP_FLAGS)).toBeLessThan(300);
    expect(oldSpace(WORKER_HEAP_FLAGS)).toBeLessThan(200);
  });

  it('start.ts spawns the web and the worker with these flags', () => {
    const start = readFileSync(path.join(root, 'scripts/start.ts'), 'utf8');
    expect(start).toContain("[...WEB_HEAP_FLAGS, '--import', 'tsx', 'scripts/serve.ts']");
    expect(start).toContain("[...WORKER_HEAP_FLAGS, '--import', 'tsx', 'scripts/worker.ts']");
  });
});
