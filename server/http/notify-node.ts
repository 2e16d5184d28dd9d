// The notify endpoint on bare node:http, for the production server (scripts/serve.ts): the same
// ingestNotificationBytes as the Next route, without the framework's per-request cost on the one route
// WeChat hammers. A body over the cap is answered 413 and the connection closed (nothing more is read).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ingestNotificationBytes, MAX_NOTIFY_BODY_BYTES, TOO_LARGE, type IngestDeps, type NotifyAnswer } from '@/server/payments/ingest-notification';
import { nodeHeaders, readNodeBody } from './raw-body';

export async function handleNotifyNode(deps: () => IngestDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readNodeBody(req, MAX_NOTIFY_BODY_BYTES);
  const answer: NotifyAnswer = body === null ? TOO_LARGE : await ingestNotificationBytes(deps, nodeHeaders(req), body);
  const headers: Record<string, string | number> = answer.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer.body) } : {};
  if (body === null) headers.connection = 'close';
  res.writeHead(answer.status, headers);
  res.end(answer.body ?? undefined, () => {
    if (body === null) req.socket.destroy();
  });
}
