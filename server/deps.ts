// The dependencies of this process — configuration, database, WeChat Pay gateway, clock — built once by
// the process's boot and passed down to the domain functions. Transports (tRPC context, route handlers,
// the worker's registry) take them from here; domain modules never reach for them on their own.
import { createDb, type Clients } from '@/db/client';
import { loadEnv } from './env';
import { systemClock } from './clock';
import type { PaymentDeps } from './payments/deps';
import type { PaymentBacklog } from './queue/backlog';
import { buildGateway, type Gateway } from './wechatpay/gateway';

/**
 * Everything a transport hands the domains; grows with the domains (auth, webhooks...). A worker adds what
 * its own loops share: whether its payment queue is behind (server/queue/backlog.ts).
 */
export type AppDeps = PaymentDeps & { paymentBacklog?: PaymentBacklog };

interface Holder {
  deps?: AppDeps;
  clients?: Clients;
  gateway?: Gateway;
}
const holder = ((globalThis as unknown as { __scanpayDeps?: Holder }).__scanpayDeps ??= {});

/** This process's dependencies (built on first call from the environment). */
export function processDeps(): AppDeps {
  if (holder.deps) return holder.deps;
  const env = loadEnv();
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not set (the start scripts set it when they start embedded Postgres)');
  const clients = createDb(env.DATABASE_URL, { max: env.DB_POOL_MAX, applicationName: env.SCANPAY_PROCESS_NAME });
  holder.clients = clients;
  holder.deps = {
    env,
    db: clients.db,
    gateway: () => (holder.gateway ??= buildGateway(env)),
    clock: systemClock,
  };
  return holder.deps;
}

/** Closes this process's pool and forgets its dependencies (shutdown; tests that change the environment). */
export async function closeProcessDeps(): Promise<void> {
  const { clients, gateway } = holder;
  holder.deps = holder.clients = holder.gateway = undefined;
  gateway?.certificates?.stop();
  if (clients) await clients.sql.end({ timeout: 5 });
}
