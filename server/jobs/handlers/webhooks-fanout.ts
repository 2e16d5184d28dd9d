// webhooks.fanout: an outbox relay batch becomes one delivery per matching endpoint (server/webhooks/deliveries.ts).
import { QUEUE } from '@/server/queue/catalogue';
import { fanoutEvents } from '@/server/webhooks/deliveries';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.webhooksFanout,
  work: { batchSize: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1, localConcurrency: 2 },
  run: (p, deps) => fanoutEvents(deps, p.eventIds),
});
