// Liveness: the process answers. No database call, so a database outage never gets web processes restarted.
export const dynamic = 'force-dynamic';

export function GET(): Response {
  return Response.json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
}
