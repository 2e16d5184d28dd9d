// The notify endpoint on bare node:http, for the production server's fast path (server/http/server.ts):
// the same ingestNotificationBytes as the Next route, without the framework's per-request cost on the one
// route WeChat hammers. Behaviour is identical; tests cover both entries.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ingestNotificationBytes, MAX_NOTIFY_BODY_BYTES, TOO_LARGE, type IngestDeps } from '@/server/payments/ingest-notification';
import { nodeHeaders, readBodyCapped } from './raw-body';

/** Answers and closes the connection: the client is still sending a body we will not read. */
export function answerAndClose(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.shouldKeepAlive = false;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body, () => res.socket?.destroy());
}

export async function handleNotifyNode(deps: () => IngestDeps, req: IncomingMessage, res: ServerResponse, limit = MAX_NOTIFY_BODY_BYTES): Promise<void> {
  const read = await readBodyCapped(req, Math.min(limit, MAX_NOTIFY_BODY_BYTES));
  if (!read.ok) {
    if (read.reason === 'too_large') answerAndClose(res, TOO_LARGE.status, TOO_LARGE.body!);
    else res.destroy();
    return;
  }
  const answer = await ingestNotificationBytes(deps, nodeHeaders(req), read.body);
  if (answer.body) res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer.body) });
  else res.writeHead(answer.status);
  res.end(answer.body ?? undefined);
}
