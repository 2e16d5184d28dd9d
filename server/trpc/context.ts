import type { Db } from '@/db/client';
import { clientIpOf, PEER_IP_HEADER } from '@/server/client-ip';
import { processDeps, type AppDeps } from '@/server/deps';
import { log } from '@/server/log';

export interface Context {
  deps: AppDeps;
  db: Db;
  clientIp: string | null;
}

let warnedNoPeer = false;

/**
 * Per-request context. The client IP comes from the socket address our server passes in, or from
 * X-Forwarded-For only as far as TRUST_PROXY_HOPS says proxies we run wrote it (server/client-ip.ts).
 */
export function createContext(req: Request, deps: AppDeps = processDeps()): Context {
  const clientIp = clientIpOf(req.headers, deps.env.TRUST_PROXY_HOPS);
  if (clientIp === null && !warnedNoPeer) {
    // Without an address every such request shares one rate-limit window: say why, once per process.
    warnedNoPeer = true;
    log('trpc').warn(
      { header: PEER_IP_HEADER },
      'a request without a usable client address: it did not come through our server (scripts/serve.ts), or TRUST_PROXY_HOPS does not match the proxies in front; such requests share one rate-limit window',
    );
  }
  return { deps, db: deps.db, clientIp };
}
