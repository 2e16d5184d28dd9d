// How `npm start` sizes and spawns its processes (scripts/lib/process-sizing.ts): the argument builders
// scripts/start.ts and the test/benchmark launcher (scripts/lib/cluster.ts) both call, the web cluster's
// per-process environment, and the restart backoff of scripts/lib/processes.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultWebProcesses,
  WEB_DB_POOL_PER_PROCESS,
  WEB_HEAP_FLAGS,
  WORKER_HEAP_FLAGS,
  webArgs,
  webProcessEnv,
  webProcesses,
  workerArgs,
} from '../../scripts/lib/process-sizing';
import { Backoff } from '../../scripts/lib/processes';

const root = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

describe('process arguments', () => {
  it('npm start runs scripts/serve.ts and scripts/worker.ts with the heap flags', () => {
    expect(webArgs('start')).toEqual([...WEB_HEAP_FLAGS, '--import', 'tsx', 'scripts/serve.ts']);
    expect(workerArgs()).toEqual([...WORKER_HEAP_FLAGS, '--import', 'tsx', 'scripts/worker.ts']);
  });

  it('npm run dev runs the same server in development mode, without the production heap limit', () => {
    expect(webArgs('dev')).toEqual(['--import', 'tsx', 'scripts/serve.ts', '--dev']);
  });

  it('the benchmark can run them without heap flags', () => {
    expect(webArgs('start', [])).toEqual(['--import', 'tsx', 'scripts/serve.ts']);
    expect(workerArgs([])).toEqual(['--import', 'tsx', 'scripts/worker.ts']);
  });

  it('npm run worker runs what npm start runs for its worker (exec: signals reach node, not a shell)', () => {
    expect(pkg.scripts.worker!.split(/\s+/)).toEqual(['exec', 'node', ...workerArgs()]);
    for (const name of ['dev', 'start', 'worker', 'simulator']) expect(pkg.scripts[name]?.startsWith('exec node ')).toBe(true);
  });

  it('bounds the old space of every long-running process below the memory targets', () => {
    const oldSpace = (flags: readonly string[]) => Number(flags.find((f) => f.startsWith('--max-old-space-size='))?.split('=')[1]);
    expect(oldSpace(WEB_HEAP_FLAGS)).toBeLessThan(300);
    expect(oldSpace(WORKER_HEAP_FLAGS)).toBeLessThan(200);
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

  it('gives each cluster process small pools, and the worker only to the first unless RUN_WORKER=false', () => {
    expect(webProcessEnv(0, {})).toEqual({
      WEB_PROCESS_INDEX: '0',
      SCANPAY_PROCESS_NAME: 'scanpay-web0',
      RUN_WORKER: 'true',
      DB_POOL_MAX: String(WEB_DB_POOL_PER_PROCESS),
      PGBOSS_POOL_MAX: '4',
    });
    expect(webProcessEnv(1, {})).toMatchObject({ RUN_WORKER: 'false', PGBOSS_POOL_MAX: '2' });
    expect(webProcessEnv(0, { RUN_WORKER: 'false' })).toMatchObject({ RUN_WORKER: 'false', PGBOSS_POOL_MAX: '2' });
    expect(webProcessEnv(1, { DB_POOL_MAX: '7', PGBOSS_POOL_MAX: '3' })).toMatchObject({ DB_POOL_MAX: '7', PGBOSS_POOL_MAX: '3' });
  });
});

describe('restart backoff', () => {
  it('restarts a process that keeps dying ever more slowly, up to 30 s, and quickly again once it ran a minute', () => {
    const b = new Backoff();
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => b.next(100))).toEqual([1000, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(b.next(60_000)).toBe(1000);
    expect(b.next(100)).toBe(1000);
    expect(b.next(100)).toBe(2000);
  });
});
