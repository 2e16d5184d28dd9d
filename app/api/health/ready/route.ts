// Readiness: the database and the queue answer, and payment jobs are not waiting too long.
import { processDeps } from '@/server/deps';
import { checkReadiness } from '@/server/monitoring/readiness';

export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  const ready = await checkReadiness(processDeps());
  return Response.json(ready, { status: ready.ok ? 200 : 503, headers: { 'cache-control': 'no-store' } });
}
