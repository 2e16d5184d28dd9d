import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, HSTS_MAX_AGE_SECONDS, newNonce, securityHeaders } from '@/server/security-headers';

const page = { nonce: 'abc123==', https: false, dev: false, api: false };

describe('securityHeaders', () => {
  it('pages: scripts by nonce only, inline styles allowed, no framing, same-origin connections', () => {
    const csp = contentSecurityPolicy(page);
    expect(csp).toContain("script-src 'self' 'nonce-abc123==' 'strict-dynamic'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).not.toMatch(/style-src[^;]*nonce/); // a nonce would switch 'unsafe-inline' off
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
  });

  it('dev adds unsafe-eval for React dev tooling; API answers allow nothing at all', () => {
    expect(contentSecurityPolicy({ ...page, dev: true })).toContain("'strict-dynamic' 'unsafe-eval'");
    expect(contentSecurityPolicy({ ...page, api: true })).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  });

  it('HSTS and upgrade-insecure-requests only when APP_URL is https', () => {
    expect(securityHeaders(page)['Strict-Transport-Security']).toBeUndefined();
    const https = securityHeaders({ ...page, https: true });
    expect(https['Strict-Transport-Security']).toBe(`max-age=${HSTS_MAX_AGE_SECONDS}`);
    expect(https['Content-Security-Policy']).toContain('upgrade-insecure-requests');
  });

  it('always: nosniff, a referrer policy (none on checkout pages), a permissions policy', () => {
    const h = securityHeaders(page);
    expect(h['X-Content-Type-Options']).toBe('nosniff');
    expect(h['Referrer-Policy']).toBe('strict-origin-when-cross-origin');
    expect(securityHeaders({ ...page, noReferrer: true })['Referrer-Policy']).toBe('no-referrer');
    expect(h['Permissions-Policy']).toMatch(/camera=\(\).*microphone=\(\).*payment=\(\)/);
    expect(h['Permissions-Policy']).not.toContain('clipboard'); // the copy buttons need it
  });

  it('nonces are fresh base64 of 16 bytes', () => {
    const a = newNonce();
    expect(Buffer.from(a, 'base64')).toHaveLength(16);
    expect(newNonce()).not.toBe(a);
  });
});
