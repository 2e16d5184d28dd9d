// The business events business systems and the statistics see: the outbox's topics. One list, so a
// producer cannot invent a topic no consumer knows, and webhooks can offer exactly these as filters.
import { z } from 'zod';

export const EVENT_TYPES = [
  'payment.succeeded',
  'payment.closed',
  'payment.late_paid',
  'payment.review',
  'refund.succeeded',
  'refund.closed',
  'refund.abnormal',
  'reconciliation.discrepancy',
  'alert.opened',
  'alert.resolved',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const eventType = z.enum(EVENT_TYPES);

/** Version of the payload shapes; a consumer refuses a version it does not know. */
export const EVENT_VERSION = 1;
