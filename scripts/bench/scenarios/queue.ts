// Queue throughput through the real payment-processing handler: N stored notifications (real orders,
// real decrypted resources) and their `payment.process-notification` jobs are committed in one transaction
// while 1 (then 2) idle, warmed-up (an untimed first batch) `scripts/worker.ts` processes wait; jobs/s = N / (last processed_at − commit).
// Nothing else consumes the queue meanwhile: the web processes are stopped if they run the worker.
import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { wechatpayNotifications } from '@/db/schema';
import { rawTransaction } from '@/db/client';
import { insertJobs as insertQueueJobs } from '@/server/queue/insert-job';
import { QUEUE } from '@/server/queue/catalogue';
import { causeId } from '@/server/queue/ids';
import { sizes } from '../lib/config';
import { cpuPerItem, cpuSnapshot, unpaidAmong, waitForDrain, type Ctx } from '../lib/harness';
import { transactionResource } from '../lib/notifications';
import { createOrders } from '../lib/orders';
import type { OrderRef } from '../lib/notifications';
import { isAlive } from '../lib/procs';
import { processTree, rssMb, samplePeaks } from '../lib/resources';

export interface QueueRow {
  workers: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  workerRssMb: number;
  unpaid: number;
  /** CPU ms per job: worker processes and Postgres. */
  workerCpuMs: number;
  postgresCpuMs: number;
}

/** Stores one inbox row + job per order, all in ONE transaction; resolves at its commit (epoch ms). */
async function insertJobs(ctx: Ctx, orders: OrderRef[]): Promise<number> {
  const { cluster } = ctx;
  const now = Date.now();
  await cluster.db.transaction(async (tx) => {
    for (let i = 0; i < orders.length; i += 1000) {
      const chunk = orders.slice(i, i + 1000);
      const inserted = await tx
        .insert(wechatpayNotifications)
        .values(
          chunk.map((o, k) => ({
            notificationId: randomUUID(),
            eventType: 'TRANSACTION.SUCCESS',
            resourceType: 'encrypt-resource',
            summary: '支付成功',
            serial: cluster.credentials.wechatpayPublicKey.id,
            resource: transactionResource(cluster.credentials, o, i + k, now),
          })),
        )
        .returning({ id: wechatpayNotifications.id, notificationId: wechatpayNotifications.notificationId });
      await insertQueueJobs(
        rawTransaction(tx),
        QUEUE.processNotification,
        inserted.map((r) => ({ id: causeId('notification', r.notificationId), data: { version: 1, inboxId: r.id } })),
        true,
      );
    }
  });
  return Date.now();
}

export async function runQueue(ctx: Ctx): Promise<QueueRow[]> {
  const { cluster, log } = ctx;
  const n = sizes(ctx.opts.quick).queueJobs;
  const websRunWorker = ctx.opts.workers === 0;
  await waitForDrain(ctx);
  await cluster.stopWorkers();
  if (websRunWorker) await cluster.stopWebs();
  const rows: QueueRow[] = [];
  try {
    for (const workers of [1, 2]) {
      const warmOrders = await createOrders(cluster.db, Math.max(200, Math.round(n / 5)));
      const orders = await createOrders(cluster.db, n);
      await cluster.startWorkers(workers);
      await new Promise((r) => setTimeout(r, 1000)); // let them settle into waiting for NOTIFY
      // Warm the fresh worker processes (JIT, pools, prepared statements) on a first, untimed batch.
      await insertJobs(ctx, warmOrders);
      await waitForDrain(ctx, 120_000);
      const committedAt = await insertJobs(ctx, orders);
      const cpuBefore = cpuSnapshot(ctx); // from the commit on: the workers' and Postgres's work on the jobs
      const sampler = samplePeaks(() => ({ rss: Math.max(0, ...cluster.workers.filter(isAlive).flatMap((m) => processTree(m.child.pid!).map(rssMb))) }));
      await waitForDrain(ctx, 300_000);
      const cpu = cpuPerItem(cpuBefore, cpuSnapshot(ctx), n);
      const peaks = await sampler.stop();
      const row = (
        await cluster.db.execute<{ last: number }>(sql`select (extract(epoch from max(processed_at)) * 1000)::float8 as last from wechatpay_notifications`)
      )[0]!;
      const seconds = (Number(row.last) - committedAt) / 1000;
      const unpaid = await unpaidAmong(ctx, orders);
      const r: QueueRow = {
        workers,
        jobs: n,
        seconds,
        jobsPerSecond: n / seconds,
        workerRssMb: peaks.rss ?? 0,
        unpaid,
        workerCpuMs: cpu.worker,
        postgresCpuMs: cpu.postgres,
      };
      rows.push(r);
      log(
        `queue ${workers} worker process${workers > 1 ? 'es' : ''}: ${n} jobs in ${seconds.toFixed(2)} s = ${r.jobsPerSecond.toFixed(0)} jobs/s; CPU ms/job: workers ${cpu.worker.toFixed(2)}, Postgres ${cpu.postgres.toFixed(2)} (of which background ${cpu.postgresBackground.toFixed(2)}) (unpaid after: ${unpaid})`,
      );
      await cluster.stopWorkers();
    }
  } finally {
    await cluster.stopWorkers();
    // Put the system back as it was for anything that runs after.
    if (websRunWorker) await cluster.startWebs(true);
    else await cluster.startWorkers(ctx.opts.workers);
  }
  return rows;
}
