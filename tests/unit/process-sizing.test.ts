// `npm run worker` (package.json) and `npm start` (scripts/start.ts → scripts/lib/process-sizing.ts) must give the
// worker the same heap limits, or the benchmark's memory figures would describe a process nobody runs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultWebProcesses, WEB_HEAP_FLAGS, WORKER_HEAP_FLAGS, webProcesses } from '../../scripts/lib/process-sizing';

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

describe('web processes', () => {
  it('runs one per core, at least 1, at most 4', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => defaultWebProcesses(cores))).toEqual([1, 2, 3, 4, 4, 4]);
  });

  it('takes WEB_CONCURRENCY when it is a positive integer, else the default', () => {
    expect(webProcesses({ WEB_CONCURRENCY: '3' })).toBe(3);
    expect(webProcesses({ WEB_CONCURRENCY: '0' })).toBe(defaultWebProcesses());
    expect(webProcesses({ WEB_CONCURRENCY: 'many' })).toBe(defaultWebProcesses());
    expect(webProcesses({})).toBe(defaultWebProcesses());
  });
});
