// Console sign-in against real Postgres and better-auth's real endpoints: argon2id passwords, forced TOTP
// enrolment, 2FA at sign-in, lockout per account and per IP, sessions listed without tokens and revoked,
// step-up, the 12-hour absolute limit, deactivation, the setup token and the audit chain.
import * as OTPAuth from 'otpauth';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { closeDb, getDb } from '../helpers/db';
import { auditLog, authAccounts, authSessions, authStepUps, authUsers } from '@/db/schema';
import { verifyAuditChain } from '@/server/auth/audit';
import { resetAuth } from '@/server/auth/auth';
import { resetEnvCache } from '@/server/env';
import { authPost, callerFor, CookieJar, signedInUser } from '../helpers/admin';
import { freshCode } from '../helpers/totp-codes';

beforeAll(() => {
  process.env.ADMIN_SIGNIN_MAX_FAILURES = '3';
  process.env.ADMIN_SIGNIN_IP_MAX_FAILURES = '6';
  resetEnvCache();
  resetAuth();
});
afterAll(async () => {
  delete process.env.ADMIN_SIGNIN_MAX_FAILURES;
  delete process.env.ADMIN_SIGNIN_IP_MAX_FAILURES;
  resetEnvCache();
  resetAuth();
  await closeDb();
});

test('passwords are stored as argon2id', async () => {
  const u = await signedInUser('viewer');
  const [acct] = await getDb()
    .select({ password: authAccounts.password })
    .from(authAccounts)
    .innerJoin(authUsers, eq(authUsers.id, authAccounts.userId))
    .where(eq(authUsers.email, u.email));
  expect(acct?.password).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
});

test('an owner must enrol TOTP before anything else; afterwards sign-in asks for a code', async () => {
  const owner = await signedInUser('owner', { enrol: false });
  const caller = callerFor(owner.headers());
  const me = await caller.admin.me.get();
  expect(me.mustEnrolTwoFactor).toBe(true);
  await expect(caller.admin.orders.list({ filter: {} })).rejects.toMatchObject({ code: 'FORBIDDEN' });

  const enable = await authPost('/two-factor/enable', { password: owner.password }, owner.jar);
  expect(enable.status).toBe(200);
  expect(enable.body!.backupCodes).toHaveLength(10);
  const totp = OTPAuth.URI.parse(String(enable.body!.totpURI)) as OTPAuth.TOTP;
  expect((await authPost('/two-factor/verify-totp', { code: await freshCode(totp) }, owner.jar)).status).toBe(200);
  const after = callerFor(owner.headers());
  expect((await after.admin.me.get()).mustEnrolTwoFactor).toBe(false);
  await after.admin.orders.list({ filter: {} });

  // A fresh sign-in now stops at the second factor.
  const jar = new CookieJar();
  const first = await authPost('/sign-in/email', { email: owner.email, password: owner.password }, jar, '198.51.100.1');
  expect(first.body).toMatchObject({ twoFactorRedirect: true });
  await expect(callerFor(new Headers({ cookie: jar.header() })).admin.me.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  expect((await authPost('/two-factor/verify-totp', { code: '000000' === totp.generate() ? '111111' : '000000' }, jar, '198.51.100.1')).status).toBe(401);
  expect((await authPost('/two-factor/verify-totp', { code: await freshCode(totp) }, jar, '198.51.100.1')).status).toBe(200);
  expect((await callerFor(new Headers({ cookie: jar.header() })).admin.me.get()).user.email).toBe(owner.email);
  // A backup code also works, once.
  const codes = enable.body!.backupCodes as string[];
  const jar2 = new CookieJar();
  await authPost('/sign-in/email', { email: owner.email, password: owner.password }, jar2, '198.51.100.2');
  expect((await authPost('/two-factor/verify-backup-code', { code: codes[0] }, jar2, '198.51.100.2')).status).toBe(200);
});

test('repeated failures lock the account, also for the right password, and per IP', async () => {
  const u = await signedInUser('support');
  const ip = '192.0.2.50';
  for (let i = 0; i < 3; i++) {
    expect((await authPost('/sign-in/email', { email: u.email, password: 'wrong password!!' }, new CookieJar(), ip)).status).toBe(401);
  }
  const locked = await authPost('/sign-in/email', { email: u.email, password: u.password }, new CookieJar(), '192.0.2.51');
  expect(locked.status).toBe(429);
  expect(locked.body).toMatchObject({ code: 'SIGN_IN_LOCKED' });

  // The IP: 6 failures over several accounts lock it for everyone.
  const spray = '192.0.2.77';
  for (let i = 0; i < 6; i++) await authPost('/sign-in/email', { email: `nobody${i}@example.test`, password: 'guess guess guess' }, new CookieJar(), spray);
  const other = await signedInUser('viewer');
  expect((await authPost('/sign-in/email', { email: other.email, password: other.password }, new CookieJar(), spray)).status).toBe(429);
  expect((await authPost('/sign-in/email', { email: other.email, password: other.password }, new CookieJar(), '192.0.2.78')).status).toBe(200);
});

test('my sessions are listed without tokens and can be revoked; an admin revokes anyone’s', async () => {
  const u = await signedInUser('viewer');
  const second = new CookieJar();
  await authPost('/sign-in/email', { email: u.email, password: u.password }, second, '203.0.113.99');
  const mine = await callerFor(u.headers()).admin.me.sessions();
  expect(mine).toHaveLength(2);
  expect(JSON.stringify(mine)).not.toMatch(/token/i);
  const other = mine.find((s) => !s.current)!;
  await callerFor(u.headers()).admin.me.revokeSession({ sessionId: other.id });
  await expect(callerFor(new Headers({ cookie: second.header() })).admin.me.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

  // Not someone else's own session through "my sessions".
  const victim = await signedInUser('support');
  const [victimSession] = await callerFor(victim.headers()).admin.me.sessions();
  await expect(callerFor(u.headers()).admin.me.revokeSession({ sessionId: victimSession!.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  const admin = await signedInUser('admin');
  const all = await callerFor(admin.headers()).admin.users.sessions();
  expect(all.some((s) => s.id === victimSession!.id)).toBe(true);
  await callerFor(admin.headers()).admin.users.revokeSession({ sessionId: victimSession!.id });
  await expect(callerFor(victim.headers()).admin.me.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
});

test('step-up: a sensitive action needs a password or TOTP proof from the last 5 minutes', async () => {
  const admin = await signedInUser('admin');
  const caller = callerFor(admin.headers());
  await caller.admin.users.create({ email: `fresh-${Date.now()}@example.test`, role: 'viewer', password: 'another long password' });
  await getDb().update(authStepUps).set({ at: sql`now() - interval '6 minutes'` });
  await expect(
    caller.admin.users.create({ email: `stale-${Date.now()}@example.test`, role: 'viewer', password: 'another long password' }),
  ).rejects.toMatchObject({
    code: 'PRECONDITION_FAILED',
  });
  await expect(caller.admin.me.stepUp({ password: 'not it at all' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  await caller.admin.me.stepUp({ code: await freshCode(admin.totp!) });
  await caller.admin.users.create({ email: `stepped-${Date.now()}@example.test`, role: 'viewer', password: 'another long password' });
});

test('the absolute limit ends a session after 12 hours however active it is; deactivation ends all', async () => {
  const u = await signedInUser('viewer');
  const caller = callerFor(u.headers());
  await caller.admin.me.get();
  const [me] = await getDb().select().from(authUsers).where(eq(authUsers.email, u.email));
  await getDb().update(authSessions).set({ createdAt: sql`now() - interval '12 hours 1 minute'` }).where(eq(authSessions.userId, me!.id));
  await expect(caller.admin.me.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

  const v = await signedInUser('support');
  const owner = await signedInUser('owner');
  const [vu] = await getDb().select().from(authUsers).where(eq(authUsers.email, v.email));
  await callerFor(owner.headers()).admin.users.setActive({ userId: vu!.id, active: false });
  await expect(callerFor(v.headers()).admin.me.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  expect((await authPost('/sign-in/email', { email: v.email, password: v.password }, new CookieJar(), '203.0.113.200')).status).not.toBe(200);
});

test('the last owner can be neither demoted nor deactivated; only owners make owners', async () => {
  const db = getDb();
  // Make this test's owner the only active one.
  await db.update(authUsers).set({ active: false }).where(eq(authUsers.role, 'owner'));
  const owner = await signedInUser('owner');
  const [ou] = await db.select().from(authUsers).where(eq(authUsers.email, owner.email));
  const caller = callerFor(owner.headers());
  await expect(caller.admin.users.changeRole({ userId: ou!.id, role: 'admin' })).rejects.toMatchObject({ code: 'CONFLICT' });
  await expect(caller.admin.users.setActive({ userId: ou!.id, active: false })).rejects.toMatchObject({ code: 'CONFLICT' });
  const admin = await signedInUser('admin');
  const [au] = await db.select().from(authUsers).where(eq(authUsers.email, admin.email));
  await expect(callerFor(admin.headers()).admin.users.changeRole({ userId: au!.id, role: 'owner' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  await caller.admin.users.changeRole({ userId: au!.id, role: 'owner', reason: 'second owner' });
  await caller.admin.users.changeRole({ userId: ou!.id, role: 'admin' });
});

test('the audit log refuses UPDATE and DELETE and its hash chain verifies', async () => {
  const db = getDb();
  expect((await db.select({ id: auditLog.id }).from(auditLog)).length).toBeGreaterThan(5);
  const cause = (p: Promise<unknown>) =>
    p.then(
      () => 'no error',
      (e: Error) => String(e.cause ?? e),
    );
  expect(await cause(db.execute(sql`update audit_log set action = 'x'`))).toMatch(/append-only/);
  expect(await cause(db.execute(sql`delete from audit_log`))).toMatch(/append-only/);
  expect(await verifyAuditChain(db)).toMatchObject({ ok: true, brokenAt: null });
  const entries = await db.select().from(auditLog);
  expect(entries.map((e) => e.action)).toEqual(
    expect.arrayContaining(['user.create', 'auth.sign_in', 'auth.sign_in_failed', 'auth.step_up', 'session.revoke', 'user.role_change']),
  );
  // Tampering behind the trigger's back (as a superuser disabling it) breaks the chain.
  await db
    .transaction(async (tx) => {
      await tx.execute(sql`alter table audit_log disable trigger audit_log_no_update_delete`);
      await tx.execute(sql`update audit_log set reason = 'edited' where id = (select min(id) + 2 from audit_log)`);
      const check = await verifyAuditChain(tx);
      expect(check.ok).toBe(false);
      tx.rollback();
    })
    .catch((e) => {
      if (!String(e).includes('Rollback')) throw e;
    });
  expect((await verifyAuditChain(db)).ok).toBe(true);
});
