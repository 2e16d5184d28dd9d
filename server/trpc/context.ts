import { getDb, type Db } from '@/db/client';

export interface Context {
  db: Db;
  clientIp: string | null;
}

/** Per-request context. The client IP is the first X-Forwarded-For hop (set by the reverse proxy). */
export function createContext(req: Request): Context {
  const forwarded = req.headers.get('x-forwarded-for');
  const clientIp = forwarded?.split(',')[0]?.trim() || req.headers.get('x-real-ip') || null;
  return { db: getDb(), clientIp };
}
