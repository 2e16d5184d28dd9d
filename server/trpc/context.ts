import { getDb, type Db } from '@/db/client';
import { clientIpOf } from '@/server/client-ip';
import { loadEnv } from '@/server/env';

export interface Context {
  db: Db;
  clientIp: string | null;
}

/**
 * Per-request context. The client IP comes from the socket address our server passes in, or from
 * X-Forwarded-For only as far as TRUST_PROXY_HOPS says proxies we run wrote it (server/client-ip.ts).
 */
export function createContext(req: Request): Context {
  return { db: getDb(), clientIp: clientIpOf(req.headers, loadEnv().TRUST_PROXY_HOPS) };
}
