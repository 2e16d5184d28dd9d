// What one REST route declares: method, path, scope, its zod schemas (which validate the request and
// generate the OpenAPI document) and a thin handler over a domain function.
import type { z } from 'zod';
import type { ApiScope } from '@/server/api-keys/scopes';
import type { AuthenticatedKey } from '@/server/api-keys/keys';
import type { AuditActor } from '@/server/auth/audit';
import type { AppDeps } from '@/server/deps';
import type { ApiErrorCode } from './errors';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteContext<P, Q, B> {
  deps: AppDeps;
  key: AuthenticatedKey;
  /** The key as the audit log's actor. */
  actor: AuditActor;
  clientIp: string | null;
  idempotencyKey: string | null;
  params: P;
  query: Q;
  body: B;
}

export interface ApiRoute<P = unknown, Q = unknown, B = unknown> {
  method: HttpMethod;
  /** OpenAPI style: `/orders/{id}/close` (under /api/v1). */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  scope: ApiScope;
  params?: z.ZodType<P>;
  query?: z.ZodType<P extends never ? never : Q>;
  body?: z.ZodType<B>;
  success: { status: number; schema: z.ZodType | null; description: string };
  /** The errors this route may answer beyond those every route may (401, 403, 429, 500). */
  errors: readonly ApiErrorCode[];
  handle(ctx: RouteContext<P, Q, B>): Promise<unknown>;
}

export function defineRoute<P = undefined, Q = undefined, B = undefined>(route: ApiRoute<P, Q, B>): ApiRoute<P, Q, B> {
  return route;
}
