// The benchmark's side of the webhook receiver process (scripts/bench/webhook-receiver.ts), and the
// webhook endpoints pointing at it, made through the product's own endpoint functions.
import { sql } from 'drizzle-orm';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { QUEUE } from '@/server/queue/catalogue';
import { createEndpoint, deleteEndpoint, listEndpoints } from '@/server/webhooks/endpoints';
import type { Hit } from '../webhook-receiver';
import type { Cluster } from './cluster';
import { NODE, PORTS } from './config';
import { spawnManaged, stopManaged, type Managed } from './procs';

export interface Taken {
  hits: Hit[];
  verified: number;
  badSignatures: number;
}

function ask<T>(m: Managed, msg: unknown, type: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver: no ${type} in ${timeoutMs / 1000} s`)), timeoutMs);
    const on = (r: any) => {
      if (r?.type !== type) return;
      clearTimeout(timer);
      m.child.off('message', on);
      resolve(r as T);
    };
    m.child.on('message', on);
    if (msg) m.child.send(msg as never);
  });
}

export class Receiver {
  private constructor(private readonly m: Managed) {}
  readonly base = `http://127.0.0.1:${PORTS.receiver}`;

  /** The receiver's process id (its CPU is the merchant's, not Scanpay's). */
  get pid(): number | undefined {
    return this.m.child.pid;
  }

  static async start(verbose: boolean): Promise<Receiver> {
    const m = spawnManaged('receiver', NODE, ['--import', 'tsx', 'scripts/bench/webhook-receiver.ts'], {
      ipc: true,
      verbose,
      env: { ...process.env, RECEIVER_PORT: String(PORTS.receiver) },
    });
    await ask(m, null, 'listening');
    return new Receiver(m);
  }

  /** The endpoints' secrets; `delays`: paths that answer that many ms after the request. */
  secrets(secrets: Record<string, string>, sampleEvery: number, delays: Record<string, number> = {}): Promise<unknown> {
    return ask(this.m, { type: 'secrets', secrets, sampleEvery, delays }, 'ok');
  }

  /** Everything received since the last take. */
  take(): Promise<Taken> {
    return ask<Taken>(this.m, { type: 'take' }, 'hits');
  }

  stop(): Promise<void> {
    return stopManaged(this.m, 3000);
  }
}

/** Replaces every endpoint with `n` new ones at /e0../e{n-1}; returns path → secret. */
export async function setEndpoints(cluster: Cluster, receiver: Receiver, n: number): Promise<Record<string, string>> {
  for (const e of await listEndpoints(cluster.db)) await deleteEndpoint(cluster.db, SYSTEM_ACTOR, e.id);
  const secrets: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const e = await createEndpoint(
      cluster.db,
      SYSTEM_ACTOR,
      { url: `${receiver.base}/e${i}`, events: ['payment.succeeded'], description: `bench ${i}` },
      'simulator',
    );
    secrets[`/e${i}`] = e.secret!;
  }
  return secrets;
}

/**
 * Drops the delivery attempts still queued (a backlog the worker could not reach in the grace period), so
 * one phase's leftovers do not load the next: the benchmark's housekeeping, not a product path.
 */
export async function purgeDeliveryQueue(cluster: Cluster): Promise<number> {
  const rows = await cluster.db.execute<{ n: number }>(sql`
    with d as (
      update webhook_deliveries set status = 'failed', next_attempt_at = null, leased_until = null
      -- rows a worker is settling right now are left to it (locking them here could deadlock with its settle)
      where id in (select id from webhook_deliveries where status = 'pending' for update skip locked)
      returning 1)
    select count(*)::int as n from d`);
  return Number(rows[0]?.n ?? 0);
}

/** Deliveries not yet finished (due, scheduled or in flight) and fan-out jobs not yet done. */
export async function deliveriesOutstanding(cluster: Cluster): Promise<number> {
  const rows = await cluster.db.execute<{ n: number }>(sql`
    select (select count(*) from webhook_deliveries where status = 'pending')::int
      + (select count(*) from pgboss.job where name = ${QUEUE.webhooksFanout} and state in ('created', 'retry', 'active'))::int as n`);
  return Number(rows[0]?.n ?? 0);
}
