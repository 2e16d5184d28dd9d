// The OpenAPI 3.1 document, generated from the route table's zod schemas (z.toJSONSchema writes JSON
// Schema 2020-12, which is OpenAPI 3.1's dialect): nothing about the API is described twice.
import { z } from 'zod';
import { API_SCOPES } from '@/server/api-keys/scopes';
import { API_ERROR_STATUS, type ApiErrorCode } from './errors';
import type { ApiRoute } from './route';
import { API_ROUTES } from './routes';
import { ErrorBody } from './schemas';

/** Errors every authenticated route may answer. */
export const COMMON_ERRORS: readonly ApiErrorCode[] = ['unauthorized', 'insufficient_scope', 'rate_limited', 'internal_error'];

type Json = Record<string, unknown>;
const registry = z.globalRegistry;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  // Named schemas (.meta({ id })) land in $defs; they become components, referenced from where they are used.
  const s = JSON.parse(
    JSON.stringify(z.toJSONSchema(schema, { io, unrepresentable: 'any', metadata: registry })).replaceAll('"#/$defs/', '"#/components/schemas/'),
  ) as Json;
  delete s.$schema;
  const defs = s.$defs as Json | undefined;
  delete s.$defs;
  if (defs) Object.assign(collected, defs);
  return s;
}
let collected: Json = {};

function parameters(route: ApiRoute<any, any, any>): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const s = schemaOf(schema as z.ZodType, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (s.required ?? []).includes(name),
        schema: prop,
        ...(prop.description ? { description: prop.description } : {}),
      });
    }
  }
  if (route.method === 'POST') {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      schema: { type: 'string', maxLength: 255 },
      description: 'The same key with the same body replays the first answer for 24 hours; with another body: 422.',
    });
  }
  return out;
}

function errorResponses(codes: readonly ApiErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const c of new Set([...codes, ...COMMON_ERRORS])) byStatus.set(API_ERROR_STATUS[c], [...(byStatus.get(API_ERROR_STATUS[c]) ?? []), c]);
  return Object.fromEntries(
    [...byStatus].map(([status, cs]) => [
      String(status),
      { description: cs.join(' | '), 'x-error-codes': cs, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
}

export function openApiDocument(serverUrl: string): Json {
  collected = {};
  const paths: Record<string, Json> = {};
  for (const route of API_ROUTES) {
    const op: Json = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      security: [{ bearer: [] }],
      'x-scope': route.scope,
      parameters: parameters(route),
      responses: {
        [String(route.success.status)]: {
          description: route.success.description,
          ...(route.success.schema ? { content: { 'application/json': { schema: schemaOf(route.success.schema, 'output') } } } : {}),
        },
        ...errorResponses(route.errors),
      },
    };
    if (route.body) op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(route.body as z.ZodType, 'input') } } };
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: op };
  }
  const error = schemaOf(ErrorBody, 'output');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Scanpay Payments API',
      version: '1.0.0',
      description: `WeChat Pay Native payments, events and signed webhooks. Authenticate with \`Authorization: Bearer sk_…\`; scopes: ${API_SCOPES.join(', ')}.`,
    },
    servers: [{ url: `${serverUrl}/api/v1` }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (sk_live_… or sk_test_…).' } },
      schemas: { ...collected, Error: error.$ref ? (collected.Error ?? error) : error },
    },
  };
}
