import { processDeps, type AppDeps } from '@/server/deps';
import type { Db } from '@/db/client';

export interface Context {
  deps: AppDeps;
  db: Db;
  clientIp: string | null;
}

/**
 * Per-request context. The client IP is the LAST X-Forwarded-For entry: the one added by the nearest
 * proxy (Next itself sets it from the socket when there is no proxy), which a client cannot forge.
 */
export function createContext(req: Request, deps: AppDeps = processDeps()): Context {
  const forwarded = req.headers.get('x-forwarded-for');
  const clientIp = forwarded?.split(',').at(-1)?.trim() || req.headers.get('x-real-ip') || null;
  return { deps, db: deps.db, clientIp };
}
