// The security headers of every response the Next app sends (proxy.ts sets them): a Content Security
// Policy with a fresh nonce for scripts on pages, a locked-down one for API answers, and the usual
// companions. Pure, so the policy itself is unit-tested and proxy.ts only generates the nonce.
//
// Styles are allowed inline ('unsafe-inline'): React style attributes (the QR code), and the Radix dialogs
// and charts of the merchant console, set inline styles that a nonce-only style-src blocks (DESIGN §6).
// Scripts are not: only those carrying this request's nonce, and what they load ('strict-dynamic').

export interface SecurityHeaderOptions {
  /** Base64 nonce for this request's scripts (pages only). */
  nonce: string;
  /** APP_URL is https: send HSTS and upgrade stray http subresources. */
  https: boolean;
  /** `next dev`: React's dev build needs eval for its error overlays and stacks. */
  dev: boolean;
  /** An API answer (JSON, SSE), never rendered as a document: nothing may load from it. */
  api: boolean;
  /** The checkout page carries a bearer token in its URL: never leak it in a Referer. */
  noReferrer?: boolean;
}

/** One year; without includeSubDomains, which would bind every other host of the merchant's domain. */
export const HSTS_MAX_AGE_SECONDS = 31_536_000;

const PERMISSIONS_POLICY = [
  'accelerometer=()',
  'autoplay=()',
  'camera=()',
  'display-capture=()',
  'geolocation=()',
  'gyroscope=()',
  'magnetometer=()',
  'microphone=()',
  'midi=()',
  'payment=()',
  'usb=()',
  'browsing-topics=()',
].join(', ');

/**
 * pg-boss's dashboard (/admin/pgboss, signed-in operators only): its React Router build inlines scripts
 * without a nonce, so it gets a policy of its own allowing same-origin and inline scripts, nothing else.
 */
export const PGBOSS_DASHBOARD_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

export function contentSecurityPolicy(opts: Pick<SecurityHeaderOptions, 'nonce' | 'https' | 'dev' | 'api'>): string {
  if (opts.api) return "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
  const directives = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${opts.nonce}' 'strict-dynamic'${opts.dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    // tRPC calls and the live-status stream go to this origin only (and, in dev, the HMR socket).
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "frame-src 'none'",
    "worker-src 'self' blob:",
    "manifest-src 'self'",
  ];
  if (opts.https) directives.push('upgrade-insecure-requests');
  return directives.join('; ');
}

export function securityHeaders(opts: SecurityHeaderOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Security-Policy': contentSecurityPolicy(opts),
    'X-Content-Type-Options': 'nosniff',
    // Older browsers that know no frame-ancestors.
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': opts.noReferrer ? 'no-referrer' : 'strict-origin-when-cross-origin',
    'Permissions-Policy': PERMISSIONS_POLICY,
  };
  if (opts.https) headers['Strict-Transport-Security'] = `max-age=${HSTS_MAX_AGE_SECONDS}`;
  return headers;
}

/** A fresh, unguessable nonce: 16 random bytes, base64. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}
