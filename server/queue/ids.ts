// Job ids derived from their cause (a notification id, an attempt + step): enqueueing the same cause
// twice inserts one job, because pg-boss ignores a send whose id already exists.
import { createHash } from 'node:crypto';

/** A stable UUID (v5-shaped) from the parts of a cause, e.g. causeId('notification', 'EV-123'). */
export function causeId(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('\u001f')).digest();
  h[6] = (h[6] & 0x0f) | 0x50; // version 5 layout
  h[8] = (h[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
