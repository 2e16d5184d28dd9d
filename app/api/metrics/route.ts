// Prometheus scrape endpoint: bearer METRICS_TOKEN; without the setting the endpoint does not exist (404).
import { timingSafeEqual } from 'node:crypto';
import { processDeps } from '@/server/deps';
import { renderMetrics } from '@/server/metrics/exposition';
import { flushProcessMetrics } from '@/server/metrics/process-metrics';

export const dynamic = 'force-dynamic';

function authorised(header: string | null, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function GET(request: Request): Promise<Response> {
  const deps = processDeps();
  const token = deps.env.METRICS_TOKEN;
  if (!token) return new Response('not found', { status: 404 });
  if (!authorised(request.headers.get('authorization'), token)) {
    return new Response('unauthorised', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
  }
  // This process's latest figures first, so the answer includes them.
  await flushProcessMetrics(deps.db).catch(() => {});
  const body = await renderMetrics(deps.db);
  return new Response(body, { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' } });
}
