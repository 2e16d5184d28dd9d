// Who is asking, as far as the request says: the client IP (the LAST X-Forwarded-For entry, the one the
// nearest proxy added — a client cannot forge it; same rule as server/trpc/context.ts) and the user agent.
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

export function requestMeta(headers: Headers | null | undefined): RequestMeta {
  if (!headers) return { ip: null, userAgent: null };
  const forwarded = headers.get('x-forwarded-for');
  const ip = forwarded?.split(',').at(-1)?.trim() || headers.get('x-real-ip') || null;
  return { ip, userAgent: headers.get('user-agent')?.slice(0, 400) ?? null };
}
