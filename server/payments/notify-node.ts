// The notify endpoint on bare node:http, for the production server's fast path (scripts/serve.ts): the
// same ingestNotificationBytes as the Next route, without the framework's per-request cost on the one
// route WeChat hammers. Behaviour is identical; tests cover both entries.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ingestNotificationBytes, MAX_NOTIFY_BODY_BYTES } from './ingest-notification';

function nodeHeaders(req: IncomingMessage): { get(name: string): string | null } {
  return {
    get(name) {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

function readCapped(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) return resolve(null);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.once('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export async function handleNotifyNode(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readCapped(req, MAX_NOTIFY_BODY_BYTES);
  const answer =
    body === null
      ? { status: 413, body: JSON.stringify({ code: 'FAIL', message: 'body too large' }) }
      : await ingestNotificationBytes(nodeHeaders(req), body);
  if (answer.body) res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer.body) });
  else res.writeHead(answer.status);
  res.end(answer.body ?? undefined);
}
