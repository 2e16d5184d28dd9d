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
