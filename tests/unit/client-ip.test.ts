// Client address for the rate limit: the socket's peer by default, X-Forwarded-For only as far as the
// operator's own proxies wrote it; anything a client can write itself is never believed.
import { describe, expect, it } from 'vitest';
import { clientIpOf, normalizeIp, PEER_IP_HEADER, resolveClientIp } from '@/server/client-ip';
import { ConfigError, loadEnv } from '@/server/env';

const envOf = (vars: Record<string, string>) => loadEnv({ NODE_ENV: 'test', ...vars });

describe('resolveClientIp', () => {
  it('with 0 trusted hops takes the peer address and ignores X-Forwarded-For entirely', () => {
    expect(resolveClientIp({ peer: '198.51.100.20', forwardedFor: '203.0.113.1' }, 0)).toBe('198.51.100.20');
    expect(resolveClientIp({ peer: '198.51.100.20', forwardedFor: '203.0.113.1, 10.0.0.1' }, 0)).toBe('198.51.100.20');
    expect(resolveClientIp({ peer: null, forwardedFor: '203.0.113.1' }, 0)).toBeNull();
  });

  it('with N hops takes the N-th address from the right', () => {
    const forwardedFor = '1.1.1.1, 203.0.113.9, 198.51.100.7';
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor }, 1)).toBe('198.51.100.7');
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor }, 2)).toBe('203.0.113.9');
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor }, 3)).toBe('1.1.1.1');
  });

  it('a client that forges X-Forwarded-For behind one proxy only adds entries to the left of the real one', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; our proxy appended the address it saw.
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor: '6.6.6.6, 203.0.113.50' }, 1)).toBe('203.0.113.50');
  });

  it('falls back to the peer address when the header is missing, too short or not an address', () => {
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor: null }, 1)).toBe('10.0.0.2');
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor: '' }, 1)).toBe('10.0.0.2');
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor: '203.0.113.9' }, 2)).toBe('10.0.0.2');
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor: '203.0.113.9, unknown' }, 1)).toBe('10.0.0.2');
    expect(resolveClientIp({ peer: '10.0.0.2', forwardedFor: '203.0.113.9,' }, 1)).toBe('10.0.0.2');
  });

  it('reads ports, brackets, zones and IPv4-mapped IPv6 as the plain address', () => {
    expect(normalizeIp(' 203.0.113.7 ')).toBe('203.0.113.7');
    expect(normalizeIp('203.0.113.7:4711')).toBe('203.0.113.7');
    expect(normalizeIp('[2001:DB8::1]:4711')).toBe('2001:db8::1');
    expect(normalizeIp('2001:db8::1')).toBe('2001:db8::1');
    expect(normalizeIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    for (const bad of ['', 'unknown', 'localhost', '999.1.1.1', '1.2.3.4\u0000', '<script>', '1.2.3.4, 5.6.7.8'])
      expect(normalizeIp(bad), JSON.stringify(bad)).toBeNull();
  });
});

describe('clientIpOf (Web request headers)', () => {
  it('reads the peer header our server sets, never X-Real-IP', () => {
    const headers = new Headers({ [PEER_IP_HEADER]: '::ffff:192.0.2.33', 'x-real-ip': '6.6.6.6', 'x-forwarded-for': '6.6.6.6' });
    expect(clientIpOf(headers, 0)).toBe('192.0.2.33');
    expect(clientIpOf(new Headers({ 'x-real-ip': '6.6.6.6' }), 0)).toBeNull();
    expect(clientIpOf(new Headers({ 'x-real-ip': '6.6.6.6' }), 1)).toBeNull();
  });

  it('joins repeated X-Forwarded-For headers in order', () => {
    const headers = new Headers([
      ['x-forwarded-for', '6.6.6.6'],
      ['x-forwarded-for', '203.0.113.4, 198.51.100.1'],
      [PEER_IP_HEADER, '10.0.0.9'],
    ]);
    expect(clientIpOf(headers, 1)).toBe('198.51.100.1');
    expect(clientIpOf(headers, 2)).toBe('203.0.113.4');
    expect(clientIpOf(headers, 3)).toBe('6.6.6.6');
  });
});

describe('TRUST_PROXY_HOPS setting', () => {
  it('defaults to 0 and accepts a small whole number', () => {
    expect(envOf({}).TRUST_PROXY_HOPS).toBe(0);
    expect(envOf({ TRUST_PROXY_HOPS: '2' }).TRUST_PROXY_HOPS).toBe(2);
  });

  it.each(['-1', '1.5', 'yes', '11'])('refuses %s with a message naming the setting', (value) => {
    expect(() => envOf({ TRUST_PROXY_HOPS: value })).toThrow(ConfigError);
    expect(() => envOf({ TRUST_PROXY_HOPS: value })).toThrow(/TRUST_PROXY_HOPS: .*(proxies|proxy)/);
  });
});
