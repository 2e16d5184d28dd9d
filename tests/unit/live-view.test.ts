import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { liveViewWriter } from '@/app/_lib/live-view';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const key = ['checkout.status', { token: 't' }];

describe('liveViewWriter', () => {
  it('a read that began before the pushed view cannot put the older view back', async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    client.setQueryData(key, { status: 'awaiting_payment' });
    const slowRead = deferred<{ status: string }>();
    const read = client.fetchQuery({ queryKey: key, queryFn: () => slowRead.promise, staleTime: 0 }).catch(() => undefined);
    await Promise.resolve(); // the read is in flight

    await liveViewWriter(client, key)({ status: 'review' });
    slowRead.resolve({ status: 'awaiting_payment' }); // the read's answer arrives after the push
    await read;

    expect(client.getQueryData(key)).toEqual({ status: 'review' });
  });

  it('with no read in flight the view is simply written', async () => {
    const client = new QueryClient();
    await liveViewWriter(client, key)({ status: 'paid' });
    expect(client.getQueryData(key)).toEqual({ status: 'paid' });
  });
});
