// Force-post through the console's API: it books a payment in the ledger, so it needs the manage permission
// and a fresh step-up (TOTP within the last minutes), as every money-moving action does. What force-post
// books is tested in reconciliation-classes.test.ts; here, who may reach it and when.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { authStepUps } from '@/db/schema';
import { callerFor, signedInUser, type SignedIn } from '../helpers/admin';
import { closeDb, getDb } from '../helpers/db';
import { freshCode } from '../helpers/totp-codes';

let finance: SignedIn;
beforeAll(async () => {
  finance = await signedInUser('finance');
}, 60_000);
afterAll(closeDb);

const NO_SUCH = '00000000-0000-4000-8000-000000000000';

test('force-post waits for a fresh step-up, then reaches the discrepancy (here: none by that id)', async () => {
  const reconciliation = () => callerFor(finance.headers()).admin.reconciliation;
  await getDb().update(authStepUps).set({ at: sql`now() - interval '6 minutes'` });
  await expect(reconciliation().forcePost({ id: NO_SUCH, reason: 'ours after all' })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  await callerFor(finance.headers()).admin.me.stepUp({ code: await freshCode(finance.totp!) });
  await expect(reconciliation().forcePost({ id: NO_SUCH, reason: 'ours after all' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  // The plain decisions need no step-up: they move no money.
  await getDb().update(authStepUps).set({ at: sql`now() - interval '6 minutes'` });
  await expect(reconciliation().decide({ id: NO_SUCH, action: 'ignore', reason: 'not ours' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
});

test('roles without the manage permission are refused force-post outright', async () => {
  for (const role of ['viewer', 'support', 'developer'] as const) {
    const someone = await signedInUser(role);
    await expect(callerFor(someone.headers()).admin.reconciliation.forcePost({ id: NO_SUCH, reason: 'ours after all' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  }
});
