// The one shape of an event, for the events API and for webhook bodies: `{ id, type, createdAt, orderId,
// data, version }`. `data` is the event's own facts plus, for an order's event, the order's full snapshot
// as the API returns it, so a receiver needs no call back to act on it.
import type { outboxEvents } from '@/db/schema';
import type { AppDeps } from '@/server/deps';
import { orderSnapshots } from '@/server/orders/public-view';
import { EVENT_VERSION, type EventType } from '@/server/outbox/events';

export interface EventPayload {
  id: string;
  type: EventType;
  createdAt: string;
  orderId: string | null;
  data: Record<string, unknown>;
  version: number;
}

export async function buildEventPayload(deps: Pick<AppDeps, 'db' | 'env'>, row: typeof outboxEvents.$inferSelect): Promise<EventPayload> {
  const [payload] = await buildEventPayloads(deps, [row]);
  return payload!;
}

/** Several events' payloads, their orders' snapshots read at once. */
export async function buildEventPayloads(deps: Pick<AppDeps, 'db' | 'env'>, rows: readonly (typeof outboxEvents.$inferSelect)[]): Promise<EventPayload[]> {
  const orders = await orderSnapshots(
    deps.db,
    deps.env.appUrl,
    rows.flatMap((r) => (r.orderId ? [r.orderId] : [])),
  );
  return rows.map((row) => {
    const facts = (row.payload ?? {}) as Record<string, unknown>;
    const order = row.orderId ? (orders.get(row.orderId) ?? null) : null;
    return {
      id: `evt_${row.id}`,
      type: row.topic as EventType,
      createdAt: row.createdAt.toISOString(),
      orderId: row.orderId,
      data: order ? { ...facts, order } : facts,
      version: EVENT_VERSION,
    };
  });
}
