// The API's webhook routes: endpoint management, test, recover, resend (server/webhooks).
import { z } from 'zod';
import {
  deleteEndpoint,
  Endpoint,
  EndpointInput,
  EndpointPatch,
  createEndpoint,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
} from '@/server/webhooks/endpoints';
import { getRecovery, resendEvent, sendTestEvent, startRecovery } from '@/server/webhooks/deliveries';
import { defineRoute } from './route';
import { EventParams, IdParams } from './schemas';

const EndpointList = z.object({ data: z.array(Endpoint) }).meta({ id: 'WebhookEndpointList' });
const Recovery = z
  .object({
    id: z.uuid(),
    endpointId: z.uuid(),
    since: z.string(),
    status: z.enum(['queued', 'running', 'done']),
    total: z.number().int().nullable(),
    done: z.number().int(),
  })
  .meta({ id: 'WebhookRecovery' });
const RecoverBody = z
  .object({ since: z.iso.datetime({ offset: true }).meta({ description: 'Failed deliveries of events since this time are sent again.' }) })
  .strict();
const ResendBody = z
  .object({ endpointId: z.uuid().optional().meta({ description: 'Only to this endpoint (default: every active endpoint that takes the type).' }) })
  .strict();
const Resent = z.object({ eventId: z.string(), deliveries: z.array(z.object({ id: z.uuid(), endpointId: z.uuid() })) }).meta({ id: 'Resent' });
const TestSent = z.object({ eventId: z.string(), deliveryId: z.uuid() }).meta({ id: 'TestEventSent' });
const RecoveryParams = z.object({ id: z.uuid(), recoveryId: z.uuid() });

const idem = ['idempotency_key_reused', 'idempotency_in_progress'] as const;
const tag = 'Webhooks';
const scope = 'webhooks:manage';

export const WEBHOOK_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/webhook-endpoints',
    operationId: 'createWebhookEndpoint',
    summary: 'Create a webhook endpoint (its secret is in this answer only)',
    tag,
    scope,
    body: EndpointInput,
    success: { status: 201, schema: Endpoint, description: 'The endpoint, with its signing secret.' },
    errors: ['invalid_request', ...idem],
    handle: ({ deps, actor, body }) => createEndpoint(deps.db, actor, body, deps.env.wechatpayMode),
  }),
  defineRoute({
    method: 'GET',
    path: '/webhook-endpoints',
    operationId: 'listWebhookEndpoints',
    summary: 'List webhook endpoints, with their health',
    tag,
    scope,
    success: { status: 200, schema: EndpointList, description: 'Every endpoint.' },
    errors: [],
    handle: async ({ deps }) => ({ data: await listEndpoints(deps.db) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/webhook-endpoints/{id}',
    operationId: 'getWebhookEndpoint',
    summary: 'Get a webhook endpoint and its health (24 h success rate, p95 latency, last error)',
    tag,
    scope,
    params: IdParams,
    success: { status: 200, schema: Endpoint, description: 'The endpoint.' },
    errors: ['invalid_request', 'not_found'],
    handle: ({ deps, params }) => getEndpoint(deps.db, params.id),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/webhook-endpoints/{id}',
    operationId: 'updateWebhookEndpoint',
    summary: 'Change a webhook endpoint (disable, or enable again)',
    tag,
    scope,
    params: IdParams,
    body: EndpointPatch,
    success: { status: 200, schema: Endpoint, description: 'The endpoint.' },
    errors: ['invalid_request', 'not_found'],
    handle: ({ deps, actor, params, body }) => updateEndpoint(deps.db, actor, params.id, body, deps.env.wechatpayMode),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/webhook-endpoints/{id}',
    operationId: 'deleteWebhookEndpoint',
    summary: 'Delete a webhook endpoint',
    tag,
    scope,
    params: IdParams,
    success: { status: 204, schema: null, description: 'Deleted.' },
    errors: ['invalid_request', 'not_found'],
    handle: ({ deps, actor, params }) => deleteEndpoint(deps.db, actor, params.id),
  }),
  defineRoute({
    method: 'POST',
    path: '/webhook-endpoints/{id}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    summary: 'Rotate the signing secret (the old one also signs for 24 hours)',
    tag,
    scope,
    params: IdParams,
    success: { status: 200, schema: Endpoint, description: 'The endpoint, with its new secret.' },
    errors: ['invalid_request', 'not_found', ...idem],
    handle: ({ deps, actor, params }) => rotateSecret(deps.db, actor, params.id),
  }),
  defineRoute({
    method: 'POST',
    path: '/webhook-endpoints/{id}/test',
    operationId: 'sendTestEvent',
    summary: 'Send a webhook.test event to the endpoint',
    tag,
    scope,
    params: IdParams,
    success: { status: 202, schema: TestSent, description: 'Queued for delivery.' },
    errors: ['invalid_request', 'not_found', 'conflict', ...idem],
    handle: ({ deps, actor, params }) => sendTestEvent(deps, actor, params.id),
  }),
  defineRoute({
    method: 'POST',
    path: '/webhook-endpoints/{id}/recover',
    operationId: 'recoverWebhookEndpoint',
    summary: 'Send every failed event since a time again (a job; poll its progress)',
    tag,
    scope,
    params: IdParams,
    body: RecoverBody,
    success: { status: 202, schema: Recovery, description: 'The recovery job.' },
    errors: ['invalid_request', 'not_found', 'conflict', ...idem],
    handle: ({ deps, actor, params, body }) => startRecovery(deps, actor, params.id, new Date(body.since)),
  }),
  defineRoute({
    method: 'GET',
    path: '/webhook-endpoints/{id}/recoveries/{recoveryId}',
    operationId: 'getWebhookRecovery',
    summary: 'Progress of a recovery',
    tag,
    scope,
    params: RecoveryParams,
    success: { status: 200, schema: Recovery, description: 'The recovery job.' },
    errors: ['invalid_request', 'not_found'],
    handle: ({ deps, params }) => getRecovery(deps, params.id, params.recoveryId),
  }),
  defineRoute({
    method: 'POST',
    path: '/events/{id}/resend',
    operationId: 'resendEvent',
    summary: 'Send an event again (to one endpoint, or to every one that takes its type)',
    tag,
    scope,
    params: EventParams,
    body: ResendBody,
    success: { status: 202, schema: Resent, description: 'The deliveries restarted.' },
    errors: ['invalid_request', 'not_found', ...idem],
    handle: ({ deps, actor, params, body }) => resendEvent(deps, actor, params.id, body?.endpointId),
  }),
];
