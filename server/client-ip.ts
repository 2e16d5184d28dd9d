// Which address a request came from, for the per-IP order rate limit and the order's client_ip.
// Only two sources are trusted: the socket address, which our own server (scripts/serve.ts, and the dev
// server) writes into PEER_IP_HEADER on every request, overwriting whatever the client sent; and, when the
// operator says that N reverse proxies stand in front (TRUST_PROXY_HOPS), the address the N-th proxy from
// us appended to X-Forwarded-For. Everything left of that entry was written by the client and may be
// forged. X-Real-IP is never read: a client can send it as easily as anything else.
import { isIP } from 'node:net';

/** Set by our server from the socket on every request (any value from the client is overwritten). */
export const PEER_IP_HEADER = 'x-scanpay-peer-ip';

/**
 * One address as a proxy may write it — `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `[2001:db8::1]:4711`,
 * `::ffff:203.0.113.7` — as a plain IP (IPv4-mapped IPv6 as IPv4), or null when it is not an address at all.
 */
export function normalizeIp(value: string | null | undefined): string | null {
  if (!value) return null;
  let ip = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(ip);
  if (bracketed?.[1]) ip = bracketed[1];
  else if (/^[\d.]+:\d{1,5}$/.test(ip)) ip = ip.slice(0, ip.lastIndexOf(':'));
  const zone = ip.indexOf('%'); // fe80::1%eth0
  if (zone > 0) ip = ip.slice(0, zone);
  const version = isIP(ip);
  if (version === 0) return null;
  if (version === 6) {
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
    if (mapped?.[1]) return mapped[1];
    return ip.toLowerCase();
  }
  return ip;
}

/**
 * The client address. With `trustedHops` 0: the peer (socket) address. With N ≥ 1: the N-th
 * X-Forwarded-For entry from the right — the address the outermost of our N proxies saw — or the peer
 * address when the header has fewer entries than that, or that entry is not an address.
 */
export function resolveClientIp(input: { peer: string | null | undefined; forwardedFor: string | null | undefined }, trustedHops: number): string | null {
  const peer = normalizeIp(input.peer);
  if (trustedHops <= 0 || !input.forwardedFor) return peer;
  // Several X-Forwarded-For headers arrive joined by ", " (Headers.get), in order: one list.
  const entries = input.forwardedFor.split(',');
  const entry = entries.length >= trustedHops ? entries[entries.length - trustedHops] : undefined;
  return normalizeIp(entry) ?? peer;
}

/** The client address of a Web request (route handlers, tRPC's fetch adapter). */
export function clientIpOf(headers: Headers, trustedHops: number): string | null {
  return resolveClientIp({ peer: headers.get(PEER_IP_HEADER), forwardedFor: headers.get('x-forwarded-for') }, trustedHops);
}
