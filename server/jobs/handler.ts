// What a queue's handler module declares: its queue, how its worker fetches (pg-boss work options), and
// what it does with one job — parse is done by the runner against the catalogue's schema, then the handler
// calls the same domain function the tests call. A handler may also take a whole batch first.
import type { WorkOptions } from 'pg-boss';
import type { AppDeps } from '@/server/deps';
import type { Payload, QueueName } from '@/server/queue/catalogue';

export interface BatchJob<Q extends QueueName> {
  id: string;
  payload: Payload<Q>;
}

export interface JobHandler<Q extends QueueName = QueueName> {
  queue: Q;
  /** pg-boss work options; a function when they come from the configuration. */
  work: WorkOptions | ((deps: AppDeps) => WorkOptions);
  run(payload: Payload<Q>, deps: AppDeps): Promise<unknown>;
  /**
   * Optional batch hook: handles what it can of a fetched batch at once and returns the outputs of the
   * jobs it completed; the runner runs the rest one by one. Must never throw (return an empty map).
   */
  batch?(jobs: BatchJob<Q>[], deps: AppDeps): Promise<Map<string, unknown>>;
  /** Optional: how long to hold the fetch loop after a batch of `size` that took `elapsedMs`. */
  holdAfter?(size: number, elapsedMs: number, deps: AppDeps): number;
}

export function defineHandler<Q extends QueueName>(handler: JobHandler<Q>): JobHandler<Q> {
  return handler;
}
