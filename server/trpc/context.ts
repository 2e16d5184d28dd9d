import { getDb, type Db } from '@/db/client';

export interface Context {
  db: Db;
  clientIp: string | null;
  /** The request's headers (the console reads its session cookie from them). */
  headers?: Headers;
  /** Response headers (the console's refreshed session cookie goes here). */
  resHeaders?: Headers;
}

/**
 * Per-request context. The client IP is the LAST X-Forwarded-For entry: the one added by the nearest
 * proxy (Next itself sets it from the socket when there is no proxy), which a client cannot forge.
 */
export function createContext(req: Request, resHeaders?: Headers): Context {
  const forwarded = req.headers.get('x-forwarded-for');
  const clientIp = forwarded?.split(',').at(-1)?.trim() || req.headers.get('x-real-ip') || null;
  return { db: getDb(), clientIp, headers: req.headers, resHeaders };
}
