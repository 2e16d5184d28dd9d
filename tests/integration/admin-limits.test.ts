// Editing the refund limits per role: owners and admins only, with a fresh step-up and a reason, audited
// with before and after; only owners touch the owner and admin rows; a single limit above the daily one is
// refused. What refunds do with the limits is not tested here (the refunds work owns that).
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { auditLog, authStepUps, roleLimits } from '@/db/schema';
import { refundLimitsFor } from '@/server/auth/limits';
import { callerFor, signedInUser, type SignedIn } from '../helpers/admin';
import { closeDb, getDb } from '../helpers/db';
import { freshCode } from '../helpers/totp-codes';

let owner: SignedIn;
let admin: SignedIn;
beforeAll(async () => {
  owner = await signedInUser('owner');
  admin = await signedInUser('admin');
}, 60_000);
afterAll(async () => {
  // Back to the defaults for the roles this file changed (other files read the limits too).
  await getDb()
    .delete(roleLimits)
    .where(inArray(roleLimits.role, ['finance', 'admin', 'viewer']));
  await closeDb();
});

test('an owner sets a role’s limits with a reason; the change is audited with before and after', async () => {
  const users = callerFor(owner.headers()).admin.users;
  const before = await refundLimitsFor(getDb(), 'finance');
  await users.setLimits({ role: 'finance', singleRefundMaxFen: 300_00, dailyRefundMaxFen: 3_000_00, reason: 'new policy' });
  expect(await refundLimitsFor(getDb(), 'finance')).toEqual({ singleRefundMaxFen: 300_00, dailyRefundMaxFen: 3_000_00 });
  expect((await users.limits()).find((l) => l.role === 'finance')).toMatchObject({ singleRefundMaxFen: 300_00, dailyRefundMaxFen: 3_000_00 });
  const [entry] = await getDb()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, 'role.limits_change'), eq(auditLog.objectId, 'finance')))
    .orderBy(desc(auditLog.id))
    .limit(1);
  expect(entry).toMatchObject({
    actorEmail: owner.email,
    reason: 'new policy',
    before,
    after: { singleRefundMaxFen: 300_00, dailyRefundMaxFen: 3_000_00 },
    twoFactorFresh: true,
  });
  // null is "no limit".
  await users.setLimits({ role: 'admin', singleRefundMaxFen: null, dailyRefundMaxFen: null, reason: 'trusted' });
  expect(await refundLimitsFor(getDb(), 'admin')).toEqual({ singleRefundMaxFen: null, dailyRefundMaxFen: null });
});

test('a reason is required, and a single refund limit above the daily one is refused', async () => {
  const users = callerFor(owner.headers()).admin.users;
  await expect(users.setLimits({ role: 'support', singleRefundMaxFen: 1, dailyRefundMaxFen: 1, reason: '  ' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  await expect(users.setLimits({ role: 'support', singleRefundMaxFen: 500_00, dailyRefundMaxFen: 100_00, reason: 'typo' })).rejects.toMatchObject({
    code: 'BAD_REQUEST',
    message: 'LIMITS_SINGLE_ABOVE_DAILY',
  });
  await expect(users.setLimits({ role: 'support', singleRefundMaxFen: -1, dailyRefundMaxFen: 0, reason: 'negative' })).rejects.toMatchObject({
    code: 'BAD_REQUEST',
  });
  expect(await refundLimitsFor(getDb(), 'support')).toEqual({ singleRefundMaxFen: 0, dailyRefundMaxFen: 0 });
});

test('admins edit other roles but not the owner or admin limits', async () => {
  const users = callerFor(admin.headers()).admin.users;
  await users.setLimits({ role: 'finance', singleRefundMaxFen: 100_00, dailyRefundMaxFen: 1_000_00, reason: 'admin edit' });
  expect(await refundLimitsFor(getDb(), 'finance')).toEqual({ singleRefundMaxFen: 100_00, dailyRefundMaxFen: 1_000_00 });
  for (const role of ['admin', 'owner'] as const) {
    await expect(users.setLimits({ role, singleRefundMaxFen: null, dailyRefundMaxFen: null, reason: 'lift my own' })).rejects.toMatchObject({
      message: 'LIMITS_OWNER_ONLY',
    });
  }
});

test('a stale step-up blocks the change until the user confirms again; other roles are refused outright', async () => {
  const users = callerFor(admin.headers()).admin.users;
  await getDb().update(authStepUps).set({ at: sql`now() - interval '6 minutes'` });
  await expect(users.setLimits({ role: 'viewer', singleRefundMaxFen: 0, dailyRefundMaxFen: 0, reason: 'stale' })).rejects.toMatchObject({
    code: 'PRECONDITION_FAILED',
  });
  await callerFor(admin.headers()).admin.me.stepUp({ code: await freshCode(admin.totp!) });
  await users.setLimits({ role: 'viewer', singleRefundMaxFen: 0, dailyRefundMaxFen: 0, reason: 'confirmed' });
  for (const role of ['finance', 'support', 'viewer', 'auditor', 'developer'] as const) {
    const someone = await signedInUser(role);
    await expect(
      callerFor(someone.headers()).admin.users.setLimits({ role: 'viewer', singleRefundMaxFen: 1, dailyRefundMaxFen: 1, reason: 'x' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  }
});
