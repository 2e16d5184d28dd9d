import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { log } from '@/server/log';
import { createContext } from '@/server/trpc/context';
import { appRouter } from '@/server/trpc/root';

export const dynamic = 'force-dynamic';

function handler(req: Request) {
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: () => createContext(req),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') log('trpc').error({ path, err: String(error.cause ?? error).slice(0, 500) }, 'procedure failed');
    },
  });
}

export { handler as GET, handler as POST };
