// The REST API's runner, for every route of the table: match, authenticate the bearer key, check its
// scope, rate-limit per key, take the Idempotency-Key (POST), validate with the route's zod schemas, run
// the handler, answer in one JSON error shape. Mounted by app/api/v1/[...path]/route.ts.
import type { z } from 'zod';
import { authenticateApiKey, type AuthenticatedKey } from '@/server/api-keys/keys';
import type { AuditActor } from '@/server/auth/audit';
import { clientIpOf } from '@/server/client-ip';
import type { AppDeps } from '@/server/deps';
import { log } from '@/server/log';
import { hitRateLimit } from '@/server/rate-limit';
import { ApiError, toApiError } from './errors';
import { beginIdempotent, completeIdempotent, requestHash } from './idempotency';
import { openApiDocument } from './openapi';
import type { ApiRoute } from './route';
import { API_ROUTES } from './routes';

export const API_BASE = '/api/v1';
const MAX_IDEMPOTENCY_KEY = 255;

interface Compiled {
  route: ApiRoute<any, any, any>;
  pattern: RegExp;
  names: string[];
}
const compiled: Compiled[] = API_ROUTES.map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
});

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}
const errorResponse = (e: ApiError) => json(e.status, e.body(), e.headers);

function issues(error: z.ZodError, where: string) {
  return error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const r = schema.safeParse(value);
  if (!r.success)
    throw new ApiError(
      'invalid_request',
      `Invalid ${where}: ${issues(r.error, where)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
      issues(r.error, where),
    );
  return r.data;
}

export function apiActor(key: AuthenticatedKey, ip: string | null, userAgent: string | null): AuditActor {
  return { id: `api_key:${key.id}`, email: `api:${key.name}`, role: 'api_key', ip, userAgent, twoFactorFresh: false };
}

function match(method: string, path: string): { route: ApiRoute<any, any, any>; params: Record<string, string> } {
  let pathMatched = false;
  for (const c of compiled) {
    const m = c.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (c.route.method !== method) continue;
    const params = Object.fromEntries(c.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    return { route: c.route, params };
  }
  if (pathMatched) throw new ApiError('method_not_allowed', `${method} is not allowed on ${API_BASE}${path}`);
  throw new ApiError('not_found', `No API route ${method} ${API_BASE}${path}`);
}

async function authenticate(deps: AppDeps, req: Request, ip: string | null): Promise<AuthenticatedKey> {
  const header = req.headers.get('authorization') ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const key = m ? await authenticateApiKey(deps.db, m[1]!, ip) : null;
  // One answer for a missing, malformed, unknown, revoked or expired key: no oracle for which it was.
  if (!key)
    throw new ApiError(
      'unauthorized',
      'Missing or invalid API key: send Authorization: Bearer sk_… with a key that is neither revoked nor expired.',
      undefined,
      { 'www-authenticate': 'Bearer' },
    );
  return key;
}

export async function handleApiRequest(deps: AppDeps, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname.startsWith(API_BASE) ? url.pathname.slice(API_BASE.length) || '/' : url.pathname;
  const method = req.method.toUpperCase();
  if (path === '/openapi.json' && method === 'GET') return json(200, openApiDocument(deps.env.appUrl));
  let idempotencyKey: string | null = null;
  let executing = false;
  try {
    const { route, params } = match(method, path);
    const clientIp = clientIpOf(req.headers, deps.env.TRUST_PROXY_HOPS);
    const key = await authenticate(deps, req, clientIp);
    if (!key.scopes.includes(route.scope)) throw new ApiError('insufficient_scope', `This key lacks the scope ${route.scope}.`, { required: route.scope });
    const limit = await hitRateLimit(deps.db, `api:${key.id}`, { limit: deps.env.API_RATE_LIMIT_PER_MINUTE, windowSeconds: 60 });
    if (!limit.allowed) {
      throw new ApiError('rate_limited', `Too many requests for this key: at most ${deps.env.API_RATE_LIMIT_PER_MINUTE} a minute.`, undefined, {
        'retry-after': String(limit.retryAfterSeconds),
      });
    }
    const raw = method === 'GET' || method === 'DELETE' ? '' : await req.text();
    const header = method === 'POST' ? req.headers.get('idempotency-key') : null;
    if (header !== null) {
      if (header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY)
        throw new ApiError('invalid_request', `Idempotency-Key must be 1–${MAX_IDEMPOTENCY_KEY} characters`);
      const begun = await beginIdempotent(
        deps.db,
        { key: header, apiKeyId: key.id, method, path, hash: requestHash(method, path, raw) },
        deps.env.API_IDEMPOTENCY_RETENTION_HOURS,
      );
      if (begun.kind === 'replay') return json(begun.status, begun.body, { 'idempotent-replayed': 'true' });
      idempotencyKey = header;
    }
    executing = true;
    let body: unknown;
    if (route.body) {
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch {
        throw new ApiError('invalid_request', 'The body is not valid JSON');
      }
    }
    const result = await route.handle({
      deps,
      key,
      actor: apiActor(key, clientIp, req.headers.get('user-agent')),
      clientIp,
      idempotencyKey,
      params: parse(route.params, params, 'path'),
      query: parse(route.query, Object.fromEntries(url.searchParams), 'query'),
      body: parse(route.body, body, 'body'),
    });
    const status = route.success.status;
    const payload = route.success.schema === null ? null : result;
    if (idempotencyKey) await completeIdempotent(deps.db, idempotencyKey, status, payload);
    return json(status, payload);
  } catch (err) {
    const e = toApiError(err);
    if (e.code === 'internal_error') log('api').error({ err, method, path }, 'API request failed');
    else if (e.status >= 500) log('api').warn({ code: e.code, method, path }, 'API request answered 5xx');
    // Only what ran is remembered: an answer before the key was taken (401, 403, 429) is not replayed.
    if (idempotencyKey && executing) await completeIdempotent(deps.db, idempotencyKey, e.status, e.body()).catch(() => undefined);
    return errorResponse(e);
  }
}
