// A TOTP code is good once: after it was accepted (sign-in, enrolment or step-up), the same code — or any
// code of the same or an earlier time step — is refused, while a later step's code still works. Codes are
// computed with otpauth from the enrolment secret; everything goes through better-auth's real endpoints.
import { eq } from 'drizzle-orm';
import type * as OTPAuth from 'otpauth';
import { afterAll, expect, test } from 'vitest';
import { auditLog } from '@/db/schema';
import { authPost, callerFor, CookieJar, signedInUser } from '../helpers/admin';
import { closeDb, getDb } from '../helpers/db';

afterAll(() => closeDb());

const codeAt = (totp: OTPAuth.TOTP, stepsAhead: number) => totp.generate({ timestamp: Date.now() + stepsAhead * 30_000 });

async function signInWithCode(email: string, password: string, code: string) {
  const jar = new CookieJar();
  const first = await authPost('/sign-in/email', { email, password }, jar);
  expect(first.status).toBe(200);
  expect(first.body?.twoFactorRedirect).toBe(true);
  return authPost('/two-factor/verify-totp', { code }, jar);
}

test('a code used to sign in cannot sign in again, nor can an older one; a later one can', async () => {
  const owner = await signedInUser('owner'); // enrolment accepted the current step's code
  const enrolmentCode = owner.totp!.generate();
  const replayOfEnrolment = await signInWithCode(owner.email, owner.password, enrolmentCode);
  expect(replayOfEnrolment.status).toBe(401);

  const next = codeAt(owner.totp!, 1);
  const ok = await signInWithCode(owner.email, owner.password, next);
  expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  const replay = await signInWithCode(owner.email, owner.password, next);
  expect(replay.status).toBe(401);
  expect(replay.body).toMatchObject({ code: 'TOTP_CODE_ALREADY_USED' });
  const older = await signInWithCode(owner.email, owner.password, codeAt(owner.totp!, -1));
  expect(older.status).toBe(401);

  const refusals = await getDb().select().from(auditLog).where(eq(auditLog.actorEmail, owner.email));
  expect(refusals.filter((e) => e.action === 'auth.totp_replay_refused').length).toBeGreaterThanOrEqual(2);
});

test('a code used for step-up cannot be used again, for step-up or to sign in', async () => {
  const admin = await signedInUser('admin');
  const me = callerFor(admin.headers()).admin.me;
  const code = codeAt(admin.totp!, 1);
  await expect(me.stepUp({ code })).resolves.toMatchObject({ method: 'totp' });
  await expect(me.stepUp({ code })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'That code is not right.' });
  const signIn = await signInWithCode(admin.email, admin.password, code);
  expect(signIn.status).toBe(401);
  // The password still works for step-up: only the code is spent.
  await expect(me.stepUp({ password: admin.password })).resolves.toMatchObject({ method: 'password' });
});

test('two requests racing with one code: exactly one wins', async () => {
  const owner = await signedInUser('owner');
  const code = codeAt(owner.totp!, 1);
  const jars = [new CookieJar(), new CookieJar()];
  for (const jar of jars) expect((await authPost('/sign-in/email', { email: owner.email, password: owner.password }, jar)).status).toBe(200);
  const results = await Promise.all(jars.map((jar) => authPost('/two-factor/verify-totp', { code }, jar)));
  expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
});
