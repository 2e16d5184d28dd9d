// The REST API's request and response shapes (zod): validation at the boundary and, through
// z.toJSONSchema, the OpenAPI document (server/api/openapi.ts). camelCase like the tRPC contract.
import { z } from 'zod';
import { EVENT_TYPES } from '@/server/outbox/events';
import { ORDER_STATUSES, PublicOrder } from '@/server/orders/public-view';
import { API_ERROR_STATUS } from './errors';

// An order as the API returns it, and as every event carries it (server/orders/public-view.ts).
export { ORDER_STATUSES };
export const Order = PublicOrder;

const iso = z.iso.datetime({ offset: true });
const uuid = z.uuid();

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(API_ERROR_STATUS) as [keyof typeof API_ERROR_STATUS, ...(keyof typeof API_ERROR_STATUS)[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

export const IdParams = z.object({ id: uuid });

const Metadata = z
  .record(z.string().min(1).max(40), z.string().max(500))
  .refine((m) => Object.keys(m).length <= 20, 'at most 20 metadata keys')
  .meta({ description: 'Your own key/values, returned as given (at most 20 keys).' });

export const CreateOrderBody = z
  .object({
    merchantOrderNo: z
      .string()
      .regex(/^[A-Za-z0-9_\-|*.]{1,64}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, _ - | * .')
      .meta({ description: 'Your order number: unique, a second create with it is a 409.' }),
    amountFen: z.number().int().positive().meta({ description: 'Amount in fen (1 yuan = 100 fen).' }),
    description: z.string().trim().min(1).max(127).meta({ description: 'What the payer reads in WeChat.' }),
    expiresInMinutes: z
      .number()
      .min(1)
      .max(7 * 24 * 60)
      .optional()
      .meta({ description: 'How long the QR code can be paid (default: the shop setting).' }),
    metadata: Metadata.optional(),
  })
  .strict()
  .meta({ id: 'CreateOrder' });

export const OrderList = z.object({ data: z.array(Order), nextCursor: z.string().nullable() }).meta({ id: 'OrderList' });

export const ListOrdersQuery = z
  .object({
    merchantOrderNo: z.string().max(64).optional(),
    status: z.enum(ORDER_STATUSES).optional(),
    createdFrom: iso.optional(),
    createdTo: iso.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional().meta({ description: 'nextCursor of the previous page.' }),
  })
  .strict();

export const SyncResult = z.object({ order: Order, results: z.array(z.object({ attemptId: uuid, outcome: z.string() })) }).meta({ id: 'SyncResult' });

export const Event = z
  .object({
    id: z.string().meta({ description: '`evt_<n>`: also the webhook-id of its deliveries.' }),
    type: z.enum(EVENT_TYPES),
    createdAt: iso,
    orderId: uuid.nullable(),
    data: z.record(z.string(), z.unknown()),
    version: z.number().int(),
  })
  .meta({ id: 'Event' });
export const EventList = z.object({ data: z.array(Event), nextCursor: z.string().nullable() }).meta({ id: 'EventList' });
export const ListEventsQuery = z
  .object({
    type: z.enum(EVENT_TYPES).optional(),
    after: z
      .string()
      .regex(/^evt_\d+$/)
      .optional()
      .meta({ description: 'Events after this one (oldest first).' }),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  })
  .strict();
export const EventParams = z.object({ id: z.string().regex(/^evt_\d+$/, 'an event id looks like evt_123') });

export const REFUND_STATUSES = ['pending_approval', 'rejected', 'requested', 'processing', 'succeeded', 'closed', 'abnormal', 'failed'] as const;

export const CreateRefundBody = z
  .object({
    amountFen: z.number().int().positive().meta({ description: 'Amount to refund in fen; at most what is still refundable.' }),
    reason: z
      .string()
      .trim()
      .min(1)
      .max(80)
      .optional()
      .meta({ description: 'Shown to the payer by WeChat (not for partial refunds of ¥1 or less); at most 80 characters.' }),
  })
  .strict()
  .meta({ id: 'CreateRefund' });

export const Refund = z
  .object({
    id: uuid,
    orderId: uuid,
    status: z.enum(REFUND_STATUSES).meta({
      description:
        "requested: accepted by us, being sent; processing: accepted by WeChat; succeeded / closed / abnormal: WeChat's result; pending_approval: above the approval threshold, waiting for a second person; rejected / failed: not sent or refused.",
    }),
    amountFen: z.number().int(),
    reason: z.string(),
    outRefundNo: z.string().meta({ description: 'Our refund number at WeChat (out_refund_no), fixed for every retry.' }),
    refundId: z.string().nullable().meta({ description: "WeChat's refund id, once WeChat accepted it." }),
    initiatedBy: z.string(),
    createdAt: iso,
    succeededAt: iso.nullable(),
  })
  .meta({ id: 'Refund' });
