// The outbox as the API's event log: `evt_<outbox id>`, oldest first, each the full shape a webhook
// delivers (the same builder: server/webhooks/payload.ts).
import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import type { z } from 'zod';
import { outboxEvents } from '@/db/schema';
import type { AppDeps } from '@/server/deps';
import { buildEventPayload, type EventPayload } from '@/server/webhooks/payload';
import { ApiError } from './errors';
import type { ListEventsQuery } from './schemas';

export const eventId = (n: number) => `evt_${n}`;
export const eventNumber = (id: string) => Number(id.slice(4));

export async function listApiEvents(deps: Pick<AppDeps, 'db' | 'env'>, q: z.infer<typeof ListEventsQuery>) {
  const conds: SQL[] = [];
  if (q.type) conds.push(eq(outboxEvents.topic, q.type));
  if (q.after) conds.push(gt(outboxEvents.id, eventNumber(q.after)));
  const rows = await deps.db
    .select()
    .from(outboxEvents)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(asc(outboxEvents.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const data: EventPayload[] = [];
  for (const row of page) data.push(await buildEventPayload(deps, row));
  const last = page[page.length - 1];
  return { data, nextCursor: rows.length > q.limit && last ? eventId(last.id) : null };
}

export async function getApiEvent(deps: Pick<AppDeps, 'db' | 'env'>, id: string): Promise<EventPayload> {
  const [row] = await deps.db
    .select()
    .from(outboxEvents)
    .where(eq(outboxEvents.id, eventNumber(id)));
  if (!row) throw new ApiError('not_found', 'No event with this id');
  return buildEventPayload(deps, row);
}
