// Runs before every page, API route and public file (not the hashed build output in /_next/static):
// 1. Security headers on every response, with a fresh script nonce per page request. Next reads the
//    nonce from the request's Content-Security-Policy header and puts it on its own scripts; pages are
//    rendered per request (they read the language cookie), so every page gets its own.
// 2. Next fails with a bare 500 on malformed percent-encoding in a dynamic segment (e.g. /checkout/%ff).
//    A shopper with a mangled link should see the normal "not found" page instead: rewrite such checkout
//    requests to a token that cannot exist.
import { NextResponse, type NextRequest } from 'next/server';
import { loadEnv } from '@/server/env';
import { newNonce, PGBOSS_DASHBOARD_CSP, securityHeaders } from '@/server/security-headers';

export function proxy(request: NextRequest) {
  const { pathname } = request.nextUrl;
  const nonce = newNonce();
  const headers = securityHeaders({
    nonce,
    https: loadEnv().appUrl.startsWith('https://'),
    dev: process.env.NODE_ENV === 'development',
    api: pathname.startsWith('/api/'),
    noReferrer: pathname.startsWith('/checkout/'),
  });
  const csp = headers['Content-Security-Policy'] ?? '';
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('content-security-policy', csp);

  let response: NextResponse;
  if (pathname.startsWith('/checkout/') && !decodes(pathname)) {
    response = NextResponse.rewrite(new URL('/checkout/not-a-valid-token', request.url), { request: { headers: requestHeaders } });
  } else {
    response = NextResponse.next({ request: { headers: requestHeaders } });
  }
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  if (pathname === '/admin/pgboss' || pathname.startsWith('/admin/pgboss/')) response.headers.set('Content-Security-Policy', PGBOSS_DASHBOARD_CSP);
  return response;
}

function decodes(pathname: string): boolean {
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

export const config = { matcher: ['/((?!_next/static|_next/image).*)'] };
