// The notify endpoint as a Next route handler: a Web Request in, a Web Response out.
import { ingestNotificationBytes, MAX_NOTIFY_BODY_BYTES, TOO_LARGE, type IngestDeps } from '@/server/payments/ingest-notification';
import { readWebBody } from './raw-body';

export async function handleNotifyRequest(deps: () => IngestDeps, req: Request): Promise<Response> {
  const body = await readWebBody(req, MAX_NOTIFY_BODY_BYTES);
  const answer = body === null ? TOO_LARGE : await ingestNotificationBytes(deps, req.headers, body);
  return new Response(answer.body, { status: answer.status, headers: answer.body ? { 'content-type': 'application/json' } : undefined });
}
