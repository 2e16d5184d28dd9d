// Console test helpers: users signed in through better-auth's real endpoints (password, then TOTP
// enrolment or verification with codes computed by otpauth), and a tRPC caller carrying their cookies.
import * as OTPAuth from 'otpauth';
import { freshCode } from './totp-codes';
import { processDeps } from '@/server/deps';
import { getDb } from './db';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { getAuth } from '@/server/auth/auth';
import { requiresTwoFactor, type Role } from '@/server/auth/permissions';
import { createAdminUser } from '@/server/auth/users';
import { loadEnv } from '@/server/env';
import { createCallerFactory } from '@/server/trpc/init';
import { appRouter } from '@/server/trpc/root';

export class CookieJar {
  private cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0\b/i.test(a.trim())) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export interface AuthCall {
  status: number;
  body: Record<string, unknown> | null;
}

export async function authPost(path: string, body: unknown, jar: CookieJar, ip = '203.0.113.10'): Promise<AuthCall> {
  const appUrl = loadEnv().appUrl;
  const res = await getAuth(processDeps().db).handler(
    new Request(`${appUrl}/api/auth${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: appUrl, cookie: jar.header(), 'x-forwarded-for': ip, 'user-agent': 'vitest' },
      body: JSON.stringify(body),
    }),
  );
  jar.take(res);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

export interface SignedIn {
  email: string;
  password: string;
  jar: CookieJar;
  totp: OTPAuth.TOTP | null;
  headers(ip?: string): Headers;
}

let n = 0;
/** A user of `role`, signed in; roles that require TOTP are enrolled through the real endpoints. */
export async function signedInUser(role: Role, opts: { enrol?: boolean } = {}): Promise<SignedIn> {
  const email = `${role}-${process.pid}-${++n}-${Date.now()}@example.test`;
  const password = 'correct horse battery';
  await createAdminUser(getDb(), { ...SYSTEM_ACTOR, email: 'test' }, { email, role, password });
  const jar = new CookieJar();
  const signIn = await authPost('/sign-in/email', { email, password }, jar);
  if (signIn.status !== 200) throw new Error(`sign-in failed: ${signIn.status} ${JSON.stringify(signIn.body)}`);
  let totp: OTPAuth.TOTP | null = null;
  if (requiresTwoFactor(role) && opts.enrol !== false) {
    const enable = await authPost('/two-factor/enable', { password }, jar);
    if (enable.status !== 200) throw new Error(`enable failed: ${enable.status} ${JSON.stringify(enable.body)}`);
    totp = OTPAuth.URI.parse(String(enable.body!.totpURI)) as OTPAuth.TOTP;
    const verify = await authPost('/two-factor/verify-totp', { code: await freshCode(totp) }, jar);
    if (verify.status !== 200) throw new Error(`verify failed: ${verify.status} ${JSON.stringify(verify.body)}`);
  }
  return {
    email,
    password,
    jar,
    totp,
    headers: (ip = '203.0.113.10') => new Headers({ cookie: jar.header(), 'x-forwarded-for': ip, 'user-agent': 'vitest' }),
  };
}

const createCaller = createCallerFactory(appRouter);
export function callerFor(headers?: Headers) {
  const deps = processDeps();
  return createCaller({ deps, db: deps.db, clientIp: '203.0.113.10', headers });
}
