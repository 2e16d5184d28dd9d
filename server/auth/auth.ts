// better-auth for the merchant console: email + password (argon2id), TOTP two-factor with backup codes,
// sessions in Postgres behind an httpOnly SameSite cookie (30-minute idle: every use within a minute
// slides the expiry; the 12-hour absolute limit is enforced in server/auth/session.ts). Public sign-up is
// off: users are created by an owner/admin, the CLI or the first-owner setup page.
// Throttling, step-up records and audit entries hang off better-auth's hooks.
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { APIError, createAuthMiddleware, getSessionFromCtx } from 'better-auth/api';
import { symmetricDecrypt, type SecretConfig } from 'better-auth/crypto';
import { twoFactor } from 'better-auth/plugins';
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { authAccounts, authSessions, authStepUps, authTwoFactors, authUsers, authVerifications } from '@/db/schema';
import { loadEnv, type AppEnv } from '@/server/env';
import { log } from '@/server/log';
import { appendAudit, type AuditActor } from './audit';
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords';
import { requestMeta } from './request-meta';
import { authSecret } from './secret';
import { lockedUntil, recordFailure, recordSuccess, type ThrottleConfig } from './throttle';
import { claimTotpStep, matchingStep, TOTP_REPLAY_CODE, totpKey } from './totp-replay';

const logger = log('auth');

export const AUTH_BASE_PATH = '/api/auth';

export function throttleConfig(env: AppEnv): ThrottleConfig {
  return {
    maxAccountFailures: env.ADMIN_SIGNIN_MAX_FAILURES,
    maxIpFailures: env.ADMIN_SIGNIN_IP_MAX_FAILURES,
    windowMs: env.ADMIN_SIGNIN_WINDOW_MINUTES * 60_000,
    lockMs: env.ADMIN_LOCKOUT_MINUTES * 60_000,
  };
}

const SIGN_IN_PATHS = new Set(['/sign-in/email']);
const SECOND_FACTOR_PATHS = new Set(['/two-factor/verify-totp', '/two-factor/verify-backup-code']);

export function createAuth(db: Db, env: AppEnv) {
  const cfg = throttleConfig(env);
  const actorFor = async (userId: string | null, email: string | null, headers: Headers | undefined, fresh: boolean): Promise<AuditActor> => {
    const meta = requestMeta(headers);
    let role: string | null = null;
    if (userId) {
      const [u] = await db.select({ role: authUsers.role, email: authUsers.email }).from(authUsers).where(eq(authUsers.id, userId));
      role = u?.role ?? null;
      email = u?.email ?? email;
    }
    return { id: userId, email, role, ip: meta.ip, userAgent: meta.userAgent, twoFactorFresh: fresh };
  };

  return betterAuth({
    appName: 'Scanpay',
    baseURL: env.appUrl,
    basePath: AUTH_BASE_PATH,
    secret: authSecret(env),
    trustedOrigins: [env.appUrl],
    database: drizzleAdapter(db, {
      provider: 'pg',
      schema: { user: authUsers, session: authSessions, account: authAccounts, verification: authVerifications, twoFactor: authTwoFactors },
    }),
    emailAndPassword: {
      enabled: true,
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
      password: { hash: hashPassword, verify: verifyPassword },
    },
    user: {
      additionalFields: {
        role: { type: 'string', required: false, defaultValue: 'viewer', input: false },
        active: { type: 'boolean', required: false, defaultValue: true, input: false },
      },
    },
    session: {
      expiresIn: Math.round(env.ADMIN_SESSION_IDLE_MINUTES * 60),
      // Refresh the expiry on any use more than a minute after the last refresh: an idle limit, not a fixed one.
      updateAge: Math.min(60, Math.round(env.ADMIN_SESSION_IDLE_MINUTES * 30)),
      // The cookie cache has open issues with Next (see libraries.md): every request reads the session row.
      cookieCache: { enabled: false },
    },
    // Our throttling is in Postgres (auth_throttle); better-auth's is per process and in memory.
    rateLimit: { enabled: false },
    advanced: {
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', path: '/' },
      useSecureCookies: env.appUrl.startsWith('https://'),
      database: { generateId: () => crypto.randomUUID() },
    },
    databaseHooks: {
      session: {
        create: {
          // Deactivated users get no session, whatever they prove.
          before: async (session) => {
            const [u] = await db.select({ active: authUsers.active }).from(authUsers).where(eq(authUsers.id, session.userId));
            if (!u?.active) return false;
          },
        },
      },
    },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (!SIGN_IN_PATHS.has(ctx.path) && !SECOND_FACTOR_PATHS.has(ctx.path)) return;
        const email = typeof ctx.body?.email === 'string' ? (ctx.body.email as string) : null;
        const { ip } = requestMeta(ctx.headers);
        const until = await lockedUntil(db, email, ip);
        if (until) {
          throw new APIError('TOO_MANY_REQUESTS', {
            code: 'SIGN_IN_LOCKED',
            message: `Too many failed sign-ins. Try again after ${until.toISOString()}.`,
          });
        }
        if (ctx.path === '/two-factor/verify-totp' && typeof ctx.body?.code === 'string') {
          // Sign-in (the pending two-factor cookie), enrolment and step-up (a session) all come through here.
          const session = await getSessionFromCtx(ctx).catch(() => null);
          let userId = session?.user.id ?? null;
          if (!userId) {
            const cookie = ctx.context.createAuthCookie('two_factor');
            const pending = await ctx.getSignedCookie(cookie.name, ctx.context.secret);
            userId = pending ? ((await ctx.context.internalAdapter.findVerificationValue(pending))?.value ?? null) : null;
          }
          const [row] = userId ? await db.select({ secret: authTwoFactors.secret }).from(authTwoFactors).where(eq(authTwoFactors.userId, userId)) : [];
          if (!userId || !row) return; // better-auth answers these cases itself
          const key = (ctx.context as unknown as { secretConfig?: SecretConfig | string }).secretConfig ?? ctx.context.secret;
          const step = matchingStep(totpKey(await symmetricDecrypt({ key, data: row.secret })), ctx.body.code as string, Date.now());
          // A wrong code is left to better-auth (it counts the failure); a right one must be of a step not used yet.
          if (step !== null && !(await claimTotpStep(db, userId, step))) {
            await appendAudit(db, await actorFor(userId, null, ctx.headers, false), {
              action: 'auth.totp_replay_refused',
              objectType: 'user',
              objectId: userId,
              after: { step },
            });
            throw new APIError('UNAUTHORIZED', {
              code: TOTP_REPLAY_CODE,
              message: 'This code was already used. Wait for the next code from your authenticator app.',
            });
          }
        }
      }),
      after: createAuthMiddleware(async (ctx) => {
        const returned = ctx.context.returned;
        const failed = returned instanceof APIError;
        const newSession = ctx.context.newSession;
        const headers = ctx.headers;
        const { ip } = requestMeta(headers);
        if (SIGN_IN_PATHS.has(ctx.path)) {
          const email = typeof ctx.body?.email === 'string' ? (ctx.body.email as string).toLowerCase() : null;
          if (failed) {
            // A refused deactivated user also lands here: it counts as a failure like a wrong password.
            await recordFailure(db, email, ip, cfg);
            await appendAudit(db, await actorFor(null, email, headers, false), { action: 'auth.sign_in_failed', objectType: 'user', objectId: email });
            return;
          }
          if (email) await recordSuccess(db, email);
          if (newSession) {
            await markStepUp(db, newSession.session.id, 'password');
            await appendAudit(db, await actorFor(newSession.user.id, email, headers, true), {
              action: 'auth.sign_in',
              objectType: 'session',
              objectId: newSession.session.id,
            });
          } else {
            await appendAudit(db, await actorFor(null, email, headers, false), {
              action: 'auth.password_ok_second_factor_pending',
              objectType: 'user',
              objectId: email,
            });
          }
          return;
        }
        if (SECOND_FACTOR_PATHS.has(ctx.path)) {
          const method = ctx.path.endsWith('backup-code') ? 'backup_code' : 'totp';
          const userId = newSession?.user.id ?? ctx.context.session?.user.id ?? null;
          if (failed) {
            await recordFailure(db, null, ip, cfg);
            await appendAudit(db, await actorFor(userId, null, headers, false), { action: `auth.${method}_failed` });
            return;
          }
          const sessionId = newSession?.session.id ?? ctx.context.session?.session.id;
          if (sessionId) await markStepUp(db, sessionId, method);
          await appendAudit(db, await actorFor(userId, null, headers, true), {
            action: newSession && ctx.context.session ? 'auth.two_factor_enrolled' : `auth.${method}_verified`,
            objectType: 'session',
            objectId: sessionId ?? null,
          });
          return;
        }
        if (ctx.path === '/two-factor/enable' && !failed) {
          await appendAudit(db, await actorFor(ctx.context.session?.user.id ?? null, null, headers, true), { action: 'auth.two_factor_enrolment_started' });
        }
        if (ctx.path === '/sign-out' && !failed) {
          await appendAudit(db, await actorFor(ctx.context.session?.user.id ?? null, null, headers, false), { action: 'auth.sign_out' });
        }
      }),
    },
    plugins: [
      twoFactor({
        issuer: env.MERCHANT_NAME,
        backupCodeOptions: { amount: 10, length: 10 },
      }),
    ],
    logger: {
      log: (level, message) => {
        logger[level === 'warn' || level === 'error' || level === 'debug' ? level : 'info'](message);
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;

/** Records a fresh proof (password, TOTP, backup code) for a session: step-up looks at it. */
export async function markStepUp(db: Db, sessionId: string, method: string): Promise<void> {
  await db
    .insert(authStepUps)
    .values({ sessionId, method, at: new Date() })
    .onConflictDoUpdate({ target: authStepUps.sessionId, set: { method, at: new Date() } });
}

const holder = globalThis as unknown as { __scanpayAuth?: WeakMap<Db, Auth> };

/**
 * The better-auth instance over this database, made on first use (`next build` must not need a database)
 * and kept for the process. The caller passes the database it works with; the environment is the process's.
 */
export function getAuth(db: Db, env: AppEnv = loadEnv()): Auth {
  holder.__scanpayAuth ??= new WeakMap();
  let auth = holder.__scanpayAuth.get(db);
  if (!auth) holder.__scanpayAuth.set(db, (auth = createAuth(db, env)));
  return auth;
}

/** Tests that change the environment between runs. */
export function resetAuth(): void {
  holder.__scanpayAuth = undefined;
}
