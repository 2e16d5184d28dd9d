// Reading a node:http request body with a hard cap: never more than `limit` bytes are buffered, whatever
// the client declares or sends. The notify fast path reads with it; the production server's body limit
// (server/http/limits.ts) counts every other route's body the same way.
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
