// STATS_ROLLUP_CONSUMER chooses whether the worker relays outbox events to the statistics consumer;
// the webhooks consumer is relayed to either way. The statistics consumer paces itself between batches.
import { expect, it } from 'vitest';
import { ConfigError, loadEnv } from '@/server/env';
import { outboxConsumers } from '@/server/outbox/consumers';
import { QUEUE } from '@/server/queue/catalogue';

const queues = (vars: Record<string, string>) => outboxConsumers(loadEnv({ NODE_ENV: 'test', ...vars })).map((c) => c.queue);

it('relays to the statistics consumer by default', () => {
  expect(loadEnv({ NODE_ENV: 'test' }).STATS_ROLLUP_CONSUMER).toBe(true);
  expect(queues({})).toEqual([QUEUE.webhooksFanout, QUEUE.statsRollup]);
  expect(queues({ STATS_ROLLUP_CONSUMER: 'true' })).toEqual([QUEUE.webhooksFanout, QUEUE.statsRollup]);
});

it('leaves the statistics consumer out when switched off, keeping webhooks', () => {
  expect(queues({ STATS_ROLLUP_CONSUMER: 'false' })).toEqual([QUEUE.webhooksFanout]);
  expect(queues({ STATS_ROLLUP_CONSUMER: '0' })).toEqual([QUEUE.webhooksFanout]);
});

it('refuses a value that is not a boolean', () => {
  expect(() => loadEnv({ NODE_ENV: 'test', STATS_ROLLUP_CONSUMER: 'maybe' })).toThrow(ConfigError);
});

it('the statistics consumer rests twice as long as a batch took, at most 750 ms, before fetching again', async () => {
  const { default: statsRollup } = await import('@/server/jobs/handlers/stats-rollup');
  const deps = {} as never;
  expect(statsRollup.holdAfter?.(1, 40, deps)).toBe(80);
  expect(statsRollup.holdAfter?.(20, 300, deps)).toBe(600);
  expect(statsRollup.holdAfter?.(20, 5000, deps)).toBe(750);
});

it('while the payment queue is behind, the statistics consumer rests BACKLOG_DEFER_MS between batches', async () => {
  const { default: statsRollup } = await import('@/server/jobs/handlers/stats-rollup');
  const env = loadEnv({ NODE_ENV: 'test' });
  const behind = { sawBatch() {}, behind: () => true };
  expect(statsRollup.holdAfter?.(1, 40, { env, paymentBacklog: behind } as never)).toBe(env.BACKLOG_DEFER_MS);
  expect(statsRollup.holdAfter?.(1, 40, { env: { ...env, BACKLOG_DEFER_MS: 0 }, paymentBacklog: behind } as never)).toBe(80);
  expect(statsRollup.holdAfter?.(1, 40, { env, paymentBacklog: { ...behind, behind: () => false } } as never)).toBe(80);
});

it('while the payment queue is behind, the webhook fan-out rests BACKLOG_DEFER_MS between batches, and not otherwise', async () => {
  const { default: fanout } = await import('@/server/jobs/handlers/webhooks-fanout');
  const env = loadEnv({ NODE_ENV: 'test' });
  const backlog = (behind: boolean) => ({ sawBatch() {}, behind: () => behind });
  expect(fanout.holdAfter?.(3, 40, { env, paymentBacklog: backlog(true) } as never)).toBe(env.BACKLOG_DEFER_MS);
  expect(fanout.holdAfter?.(3, 40, { env, paymentBacklog: backlog(false) } as never)).toBe(0);
  expect(fanout.holdAfter?.(3, 40, { env } as never)).toBe(0);
});

it('the payment handler reports every fetched batch to the backlog signal, even when its batch path fails', async () => {
  const { default: processNotification } = await import('@/server/jobs/handlers/process-notification');
  const seen: number[] = [];
  const deps = {
    env: loadEnv({ NODE_ENV: 'test' }),
    db: { transaction: () => Promise.reject(new Error('no database here')) },
    gateway: () => ({ mchid: '1900000109', appid: 'wx0000000000000000' }),
    clock: { now: () => new Date() },
    paymentBacklog: { sawBatch: (size: number) => seen.push(size), behind: () => false },
  };
  const jobs = Array.from({ length: 25 }, (_, i) => ({ id: `j${i}`, payload: { version: 1 as const, inboxId: i + 1 } }));
  expect(await processNotification.batch?.(jobs, deps as never)).toEqual(new Map());
  expect(await processNotification.batch?.(jobs.slice(0, 3), deps as never)).toEqual(new Map());
  expect(seen).toEqual([25, 3]);
});
