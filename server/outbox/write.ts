// Writing an outbox event, in the caller's transaction (the state change and its event commit together).
// markPaid writes its "payment.succeeded" rows in its own statement; every other producer comes here.
import type { Tx } from '@/db/client';
import { outboxEvents } from '@/db/schema';
import type { EventType } from './events';

export interface OutboxEvent {
  topic: EventType;
  orderId: string | null;
  /** Unique per cause: writing the same cause twice writes one event. */
  dedupeKey: string;
  payload: Record<string, unknown>;
}

/** Returns whether the event was written (false: an event of that cause existed). */
export async function writeOutboxEvent(tx: Tx, e: OutboxEvent): Promise<boolean> {
  const rows = await tx.insert(outboxEvents).values(e).onConflictDoNothing().returning({ id: outboxEvents.id });
  return rows.length > 0;
}
