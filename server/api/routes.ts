// The REST API's route table (under /api/v1). Each entry is thin: parse (the runner does it from the
// schemas), call a domain function, return its view.
import { getApiEvent, listApiEvents } from './events';
import { createApiRefund, getApiRefund } from './refunds';
import { closeApiOrder, createApiOrder, getApiOrder, listApiOrders, syncApiOrder } from './orders';
import { type ApiRoute, defineRoute } from './route';
import {
  CreateOrderBody,
  CreateRefundBody,
  Event,
  EventList,
  EventParams,
  IdParams,
  ListEventsQuery,
  ListOrdersQuery,
  Order,
  OrderList,
  Refund,
  SyncResult,
} from './schemas';
import { REPORT_ROUTES } from './report-routes';
import { WEBHOOK_ROUTES } from './webhook-routes';

const ORDER_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/orders',
    operationId: 'createOrder',
    summary: 'Create a payment (a WeChat Native QR code order)',
    tag: 'Orders',
    scope: 'orders:write',
    body: CreateOrderBody,
    success: { status: 201, schema: Order, description: 'The order, with its QR code (codeUrl) and checkout page (checkoutUrl).' },
    errors: ['invalid_request', 'conflict', 'idempotency_key_reused', 'idempotency_in_progress', 'provider_unavailable'],
    handle: ({ deps, body, clientIp }) => createApiOrder(deps, body, clientIp),
  }),
  defineRoute({
    method: 'GET',
    path: '/orders',
    operationId: 'listOrders',
    summary: 'List orders, newest first (cursor pagination)',
    tag: 'Orders',
    scope: 'orders:read',
    query: ListOrdersQuery,
    success: { status: 200, schema: OrderList, description: 'A page of orders.' },
    errors: ['invalid_request'],
    handle: ({ deps, query }) => listApiOrders(deps, query),
  }),
  defineRoute({
    method: 'GET',
    path: '/orders/{id}',
    operationId: 'getOrder',
    summary: 'Get an order',
    tag: 'Orders',
    scope: 'orders:read',
    params: IdParams,
    success: { status: 200, schema: Order, description: 'The order.' },
    errors: ['invalid_request', 'not_found'],
    handle: ({ deps, params }) => getApiOrder(deps, params.id),
  }),
  defineRoute({
    method: 'POST',
    path: '/orders/{id}/close',
    operationId: 'closeOrder',
    summary: 'Close an order that awaits payment (closed at WeChat first)',
    tag: 'Orders',
    scope: 'orders:write',
    params: IdParams,
    success: { status: 200, schema: Order, description: 'The closed order.' },
    errors: ['invalid_request', 'not_found', 'conflict', 'idempotency_key_reused', 'idempotency_in_progress', 'provider_unavailable'],
    handle: ({ deps, params }) => closeApiOrder(deps, params.id),
  }),
  defineRoute({
    method: 'POST',
    path: '/orders/{id}/sync',
    operationId: 'syncOrder',
    summary: 'Ask WeChat now about the order (active query)',
    tag: 'Orders',
    scope: 'orders:write',
    params: IdParams,
    success: { status: 200, schema: SyncResult, description: 'The order after the query, and what each attempt answered.' },
    errors: ['invalid_request', 'not_found', 'idempotency_key_reused', 'idempotency_in_progress'],
    handle: ({ deps, params, actor }) => syncApiOrder(deps, actor, params.id),
  }),
];

const REFUND_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/orders/{id}/refunds',
    operationId: 'createRefund',
    summary: "Refund a paid order, in full or in part (WeChat's rules apply: 1 year, 50 refunds, 1 minute apart)",
    tag: 'Refunds',
    scope: 'refunds:write',
    params: IdParams,
    body: CreateRefundBody,
    success: { status: 201, schema: Refund, description: 'The refund as accepted; its result comes later (refund.* events, or GET the refund).' },
    errors: ['invalid_request', 'not_found', 'idempotency_key_reused', 'idempotency_in_progress'],
    handle: ({ deps, params, body, key, actor, idempotencyKey }) => createApiRefund(deps, { key, actor, idempotencyKey }, params.id, body),
  }),
  defineRoute({
    method: 'GET',
    path: '/refunds/{id}',
    operationId: 'getRefund',
    summary: 'Get a refund',
    tag: 'Refunds',
    scope: 'orders:read',
    params: IdParams,
    success: { status: 200, schema: Refund, description: 'The refund.' },
    errors: ['invalid_request', 'not_found'],
    handle: ({ deps, params }) => getApiRefund(deps, params.id),
  }),
];

const EVENT_ROUTES = [
  defineRoute({
    method: 'GET',
    path: '/events',
    operationId: 'listEvents',
    summary: 'List events, oldest first',
    tag: 'Events',
    scope: 'orders:read',
    query: ListEventsQuery,
    success: { status: 200, schema: EventList, description: 'A page of events; pass nextCursor as `after`.' },
    errors: ['invalid_request'],
    handle: ({ deps, query }) => listApiEvents(deps, query),
  }),
  defineRoute({
    method: 'GET',
    path: '/events/{id}',
    operationId: 'getEvent',
    summary: 'Get an event',
    tag: 'Events',
    scope: 'orders:read',
    params: EventParams,
    success: { status: 200, schema: Event, description: 'The event, as its webhooks deliver it.' },
    errors: ['invalid_request', 'not_found'],
    handle: ({ deps, params }) => getApiEvent(deps, params.id),
  }),
];

export const API_ROUTES: readonly ApiRoute<any, any, any>[] = [...ORDER_ROUTES, ...REFUND_ROUTES, ...EVENT_ROUTES, ...WEBHOOK_ROUTES, ...REPORT_ROUTES];
