// The worker: registers a handler per queue. Runs inside the web process by default (instrumentation.ts)
// or alone (`npm run worker`); any number of workers can share one Postgres, pg-boss hands each job to one.
import type { Job } from 'pg-boss';
import { getDb } from '@/db/client';
import { getGateway } from '@/server/payments/gateway';
import { getBoss, stopBoss } from './boss';
import { payloads, QUEUE } from './catalogue';
import { processNotification } from './handlers/process-notification';

let started = false;

export async function startWorker(): Promise<void> {
  if (started) return;
  started = true;
  const boss = await getBoss({ supervise: true });
  const db = getDb();
  const gateway = getGateway();
  const expected = { mchid: gateway.mchid, appid: gateway.appid };

  await boss.work(
    QUEUE.processNotification,
    // A batch above 1 with burst mode: with batchSize 1 pg-boss waits its polling interval after every fetch.
    { batchSize: 10, burstWhenBatchFull: true, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 10 },
    async (jobs: Job<unknown>[]) => {
      for (const job of jobs) {
        const payload = payloads[QUEUE.processNotification].parse(job.data);
        await processNotification(db, payload, expected);
      }
    },
  );
  console.log('[worker] started');
}

export async function stopWorker(): Promise<void> {
  if (!started) return;
  started = false;
  // Graceful: stop fetching, let in-flight jobs finish (or expire back to the queue), close the pool.
  await stopBoss(15_000);
}
