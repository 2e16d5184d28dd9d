// Next fails with a bare 500 on malformed percent-encoding in a dynamic segment (e.g. /checkout/%ff).
// A shopper with a mangled link should see the normal "not found" page instead: rewrite such requests
// to a token that cannot exist. Matched on checkout pages only, so no other route pays for this.
import { NextResponse, type NextRequest } from 'next/server';

export function proxy(request: NextRequest) {
  try {
    decodeURIComponent(request.nextUrl.pathname);
    return NextResponse.next();
  } catch {
    return NextResponse.rewrite(new URL('/checkout/not-a-valid-token', request.url));
  }
}

export const config = { matcher: ['/checkout/:path*'] };
