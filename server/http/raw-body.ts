// Reading a node:http request body with a hard cap: never more than `limit` bytes are buffered, whatever
// the client declares or sends. The notify entries read with it; the production server's body limit
// (server/http/server.ts) counts every other route's body the same way.
import type { IncomingMessage } from 'node:http';

export type CappedBody = { ok: true; body: Buffer } | { ok: false; reason: 'too_large' | 'aborted' };

/** The declared Content-Length, or undefined (chunked, or absent). NaN-safe. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Reads the whole body when it is at most `limit` bytes. Past the limit it stops buffering at once and
 * answers too_large; the caller answers 413 and closes the connection (the rest is never read).
 */
export function readBodyCapped(req: IncomingMessage, limit: number): Promise<CappedBody> {
  return new Promise((resolve) => {
    const declared = declaredLength(req);
    if (declared !== undefined && declared > limit) return resolve({ ok: false, reason: 'too_large' });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: CappedBody) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.pause(); // nothing more is read: the connection is closed after the 413
        settle({ ok: false, reason: 'too_large' });
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => settle({ ok: true, body: Buffer.concat(chunks, size) }));
    req.once('aborted', () => settle({ ok: false, reason: 'aborted' }));
    req.once('error', () => settle({ ok: false, reason: 'aborted' }));
    req.once('close', () => settle({ ok: false, reason: 'aborted' }));
  });
}

/** At most `limit` bytes of a Web request body (the Next route's entry); null when it is larger. */
export async function readWebBody(req: Request, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > limit) return null;
  if (!req.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** node:http headers with the Web `get` interface the protocol code reads. */
export function nodeHeaders(req: IncomingMessage): { get(name: string): string | null } {
  return {
    get(name) {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
