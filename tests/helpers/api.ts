// Calling the Payments API as a business system would: through the Next route module (app/api/v1), with
// a bearer key made by the API-keys domain.
import { DELETE, GET, PATCH, POST } from '@/app/api/v1/[...path]/route';
import type { Db } from '@/db/client';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { createApiKey } from '@/server/api-keys/keys';
import { API_SCOPES, type ApiScope } from '@/server/api-keys/scopes';

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function makeKey(
  db: Db,
  scopes: readonly ApiScope[] = API_SCOPES,
  opts: { expiresAt?: Date; name?: string } = {},
): Promise<{ id: string; secret: string }> {
  const { key, secret } = await createApiKey(
    db,
    { ...SYSTEM_ACTOR, email: 'test' },
    { name: opts.name ?? 'test key', scopes, mode: 'simulator', expiresAt: opts.expiresAt },
  );
  return { id: key.id, secret };
}

const HANDLERS = { GET, POST, PATCH, DELETE } as const;

export async function api<T = any>(
  method: keyof typeof HANDLERS,
  path: string,
  opts: { key?: string | null; body?: unknown; rawBody?: string; idempotencyKey?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await HANDLERS[method](new Request(`http://127.0.0.1/api/v1${path}`, { method, headers, body }));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}
