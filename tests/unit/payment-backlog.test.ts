// The payment queue counts as behind for a second after its handler fetched a large batch (BEHIND_AT or more);
// a smaller one does not make it so.
import { expect, it } from 'vitest';
import { BEHIND_AT, BEHIND_FOR_MS, createPaymentBacklog } from '@/server/queue/backlog';

it('is behind for BEHIND_FOR_MS after a large batch, and not after a smaller one', () => {
  let t = 1_000_000;
  const backlog = createPaymentBacklog({ now: () => new Date(t) });
  expect(backlog.behind()).toBe(false);
  backlog.sawBatch(BEHIND_AT - 1);
  expect(backlog.behind()).toBe(false);
  backlog.sawBatch(BEHIND_AT);
  expect(backlog.behind()).toBe(true);
  t += BEHIND_FOR_MS - 1;
  expect(backlog.behind()).toBe(true);
  backlog.sawBatch(3); // a short batch does not end it early, nor extend it
  t += 1;
  expect(backlog.behind()).toBe(false);
});
