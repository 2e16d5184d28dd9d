// The app's own tRPC procedures called in-process by server components: one contract for the pages and
// for HTTP clients.
import { processDeps } from '@/server/deps';
import { createCallerFactory } from './init';
import { appRouter } from './root';

export function serverCaller() {
  const deps = processDeps();
  return createCallerFactory(appRouter)({ deps, db: deps.db, clientIp: null });
}
