// The wake-up coalescer: the requests of one turn of the event loop share one run, and every request is
// followed by a run that started after it (a wake-up sent before a commit would wake a worker too early).
import { expect, it } from 'vitest';
import { coalescer } from '@/server/queue/wake';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

it('runs once for all the requests of one turn of the event loop', async () => {
  let runs = 0;
  const c = coalescer(async () => {
    runs++;
  });
  for (let i = 0; i < 50; i++) c.request();
  expect(runs).toBe(0); // not synchronously: the other commits of this turn join first
  await tick();
  await tick();
  expect(runs).toBe(1);
  await tick();
  expect(runs).toBe(1);
});

it('follows a request made during a run with another run that starts after it', async () => {
  const started: number[] = [];
  const requests: number[] = [];
  let clock = 0;
  let release!: () => void;
  const c = coalescer(async () => {
    started.push(++clock);
    await new Promise<void>((resolve) => (release = resolve));
  });
  const request = () => {
    requests.push(++clock);
    c.request();
  };
  request();
  await tick();
  expect(started).toHaveLength(1);
  request(); // while the first run is in flight
  request();
  release();
  await tick();
  await tick();
  expect(started).toHaveLength(2); // one more run for both
  release();
  await tick();
  await tick();
  expect(started).toHaveLength(2);
  for (const r of requests) expect(started.some((s) => s > r)).toBe(true);
});

it('keeps going after a failed run', async () => {
  let runs = 0;
  const c = coalescer(async () => {
    runs++;
    if (runs === 1) throw new Error('connection lost');
  });
  c.request();
  await tick();
  await tick();
  c.request();
  await tick();
  await tick();
  expect(runs).toBe(2);
});
