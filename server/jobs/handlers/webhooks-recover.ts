// webhooks.recover: sends an endpoint's failed deliveries since a time again, with progress (server/webhooks/deliveries.ts).
import { QUEUE } from '@/server/queue/catalogue';
import { runRecovery } from '@/server/webhooks/deliveries';
import { defineHandler } from '../handler';

export default defineHandler({
  queue: QUEUE.webhooksRecover,
  work: { batchSize: 1, pollingIntervalSeconds: 2 },
  run: (p, deps) => runRecovery(deps, p.recoveryId),
});
