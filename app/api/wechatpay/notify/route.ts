// WeChat Pay notify endpoint: no session, no auth middleware (WeChat authenticates by signature).
import { processDeps } from '@/server/deps';
import { handleNotifyRequest } from '@/server/http/notify-route';

export const dynamic = 'force-dynamic';

export async function POST(req: Request): Promise<Response> {
  return handleNotifyRequest(processDeps, req);
}
