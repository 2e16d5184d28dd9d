// The browser side of better-auth's endpoints the console uses (plain fetch: same-origin, cookies httpOnly).
export interface AuthResult {
  ok: boolean;
  status: number;
  body: Record<string, unknown> | null;
}

export async function authCall(path: string, body: unknown): Promise<AuthResult> {
  const res = await fetch(`/api/auth${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let parsed: Record<string, unknown> | null = null;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : null;
  } catch {
    parsed = null;
  }
  return { ok: res.ok, status: res.status, body: parsed };
}
