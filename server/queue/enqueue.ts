// Enqueueing a job in the caller's transaction: the job commits or rolls back with the business write
// that causes it (DESIGN §2 laws). Payloads are validated against the catalogue; ids come from the cause.
import { rawTransaction, type Tx } from '@/db/client';
import { payloads, queueDefinition, type Payload, type QueueName } from './catalogue';
import { insertJobs } from './insert-job';

export interface EnqueueOptions {
  /** Derived from the cause (see causeId) so a repeated enqueue is a no-op. */
  id: string;
  startAfter?: Date;
  /** pg-boss group: jobs of one group can be capped to a few at a time (e.g. one webhook endpoint). */
  groupId?: string;
}

/** Enqueues a validated payload inside `tx`. Returns the job id, or null if that id already existed. */
export async function enqueue<Q extends QueueName>(tx: Tx, queue: Q, data: Payload<Q>, options: EnqueueOptions): Promise<string | null> {
  return (await enqueueAll(tx, queue, [{ data, options }]))[0] ?? null;
}

/** Enqueues many jobs of one queue inside `tx` in one statement. Returns the ids inserted (existing ids skipped). */
export async function enqueueAll<Q extends QueueName>(tx: Tx, queue: Q, jobs: readonly { data: Payload<Q>; options: EnqueueOptions }[]): Promise<string[]> {
  if (!jobs.length) return [];
  const schema = payloads[queue];
  return insertJobs(
    rawTransaction(tx),
    queue,
    jobs.map(({ data, options }) => ({ id: options.id, data: schema.parse(data), startAfter: options.startAfter, groupId: options.groupId })),
    queueDefinition(queue).notify === true,
  );
}
