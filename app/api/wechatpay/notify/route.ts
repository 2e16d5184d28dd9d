// WeChat Pay notify endpoint: no session, no auth middleware (WeChat authenticates by signature).
import { ingestNotification } from '@/server/payments/ingest-notification';

export const dynamic = 'force-dynamic';

export async function POST(req: Request): Promise<Response> {
  return (await ingestNotification(req)).response;
}
