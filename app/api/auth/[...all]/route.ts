// better-auth's endpoints (sign-in, two-factor, sign-out) for the merchant console.
import { toNextJsHandler } from 'better-auth/next-js';
import { getAuth } from '@/server/auth/auth';
import { processDeps } from '@/server/deps';

export const dynamic = 'force-dynamic';

const handler = (req: Request) => getAuth(processDeps().db, processDeps().env).handler(req);
export const { GET, POST } = toNextJsHandler(handler);
