// Maps a tRPC client error to a translated message key. The server's own message is English-only and
// may change; the shopper reads a sentence in their language chosen by the error's code.
import { TRPCClientError } from '@trpc/client';

export type ErrorKey = 'TOO_MANY_REQUESTS' | 'SERVICE_UNAVAILABLE' | 'NOT_FOUND' | 'BAD_REQUEST' | 'offline' | 'generic';

export function errorKey(error: unknown): ErrorKey {
  if (error instanceof TRPCClientError) {
    const code = (error.data as { code?: string } | undefined)?.code;
    if (code === 'TOO_MANY_REQUESTS' || code === 'SERVICE_UNAVAILABLE' || code === 'NOT_FOUND' || code === 'BAD_REQUEST') return code;
    // No response at all (network down, server unreachable).
    if (!error.data && error.cause instanceof TypeError) return 'offline';
  }
  return 'generic';
}
