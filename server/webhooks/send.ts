// One HTTP POST to a receiver: node:http(s) through request-filtering-agent, which checks the address
// each connection really goes to (after DNS, so rebinding cannot slip a private address past a check made
// earlier). Live mode refuses private, loopback and link-local addresses; simulator mode lets tests use
// local receivers. No redirects are followed (a 3xx is a failure); the whole exchange has one deadline.
import http from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

export interface SendResult {
  status: number | null;
  headers: Record<string, string>;
  /** The first RESPONSE_KEEP_BYTES of the answer. */
  body: string | null;
  latencyMs: number;
  error: string | null;
}

const RESPONSE_KEEP_BYTES = 4096;

export interface Sender {
  send(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult>;
}

export function createSender(opts: { allowPrivate: boolean }): Sender {
  const filter = { allowPrivateIPAddress: opts.allowPrivate, allowMetaIPAddress: opts.allowPrivate };
  const agents = {
    'http:': new RequestFilteringHttpAgent({ keepAlive: true, maxSockets: 64, ...filter }),
    'https:': new RequestFilteringHttpsAgent({ keepAlive: true, maxSockets: 64, ...filter }),
  };
  return {
    send(url, headers, body, timeoutMs) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      return new Promise<SendResult>((resolve) => {
        let target: URL;
        try {
          target = new URL(url);
        } catch {
          resolve({ status: null, headers: {}, body: null, latencyMs: 0, error: 'invalid URL' });
          return;
        }
        const protocol = target.protocol as 'http:' | 'https:';
        if (protocol !== 'http:' && protocol !== 'https:') {
          resolve({ status: null, headers: {}, body: null, latencyMs: 0, error: `unsupported protocol ${target.protocol}` });
          return;
        }
        let settled = false;
        const finish = (r: Omit<SendResult, 'latencyMs'>) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ ...r, latencyMs: elapsed() });
        };
        const req = (protocol === 'https:' ? https : http).request(
          target,
          { method: 'POST', agent: agents[protocol], headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
          (res) => {
            const chunks: Buffer[] = [];
            let kept = 0;
            res.on('data', (chunk: Buffer) => {
              if (kept < RESPONSE_KEEP_BYTES) {
                chunks.push(chunk);
                kept += chunk.length;
              }
            });
            res.on('end', () => {
              const responseHeaders = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
              finish({
                status: res.statusCode ?? null,
                headers: responseHeaders,
                // Kept as text: Postgres refuses NUL in text, so a receiver's NUL bytes are shown as U+FFFD.
                body: Buffer.concat(chunks).subarray(0, RESPONSE_KEEP_BYTES).toString('utf8').replaceAll('\u0000', '\ufffd'),
                error: null,
              });
            });
            res.on('error', (err) => finish({ status: res.statusCode ?? null, headers: {}, body: null, error: err.message }));
          },
        );
        const timer = setTimeout(() => {
          finish({ status: null, headers: {}, body: null, error: `no answer within ${timeoutMs} ms` });
          req.destroy();
        }, timeoutMs);
        req.on('error', (err) => finish({ status: null, headers: {}, body: null, error: err.message }));
        req.end(body);
      });
    },
  };
}
