// A view the live stream pushes (or an action returns) was read after every status read still in flight
// began. Written over such a read, it would be put back by that read's late answer, and nothing corrects
// it: while the stream is up the page does not poll, and the stream sends again only on the next change.
import type { QueryClient, QueryKey } from '@tanstack/react-query';

/** Writes a view to the query cache after cancelling the reads of it still in flight. */
export function liveViewWriter<T>(client: QueryClient, queryKey: QueryKey): (view: T) => Promise<void> {
  return async (view) => {
    await client.cancelQueries({ queryKey, exact: true });
    client.setQueryData(queryKey, view);
  };
}
