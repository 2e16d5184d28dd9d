// One handler module per queue of the catalogue, and no queue without one (dead-letter queues are
// handled by people, from the console, not by workers).
import { expect, it } from 'vitest';
import { HANDLERS } from '@/server/jobs/registry';
import { QUEUE } from '@/server/queue/catalogue';

it('registers exactly one handler per queue', () => {
  expect(HANDLERS.map((h) => h.queue).sort()).toEqual(Object.values(QUEUE).sort());
});
