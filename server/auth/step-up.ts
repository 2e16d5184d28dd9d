// Step-up re-authentication: sensitive actions (role changes, keys, large refunds, bulk export) need a
// password or TOTP proof from this session within ADMIN_STEP_UP_MINUTES. `stepUp` records a new proof.
import { and, eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { authAccounts } from '@/db/schema';
import { AppError } from '@/server/errors';
import { getAuth, markStepUp } from './auth';
import { appendAudit } from './audit';
import { verifyPassword } from './passwords';
import { auditActor, type AdminSession } from './session';

export class StepUpRequiredError extends AppError {
  constructor() {
    super('BAD_REQUEST', 'Confirm it is you: enter your password or a code from your authenticator app.');
    this.name = 'StepUpRequiredError';
  }
}

/** Throws unless the session proved itself recently. */
export function requireFreshStepUp(s: AdminSession): void {
  if (!s.stepUpFresh) throw new StepUpRequiredError();
}

export async function stepUp(db: Db, s: AdminSession, headers: Headers, proof: { password: string } | { code: string }): Promise<{ method: string }> {
  let method: string;
  if ('password' in proof) {
    const [acct] = await db
      .select({ password: authAccounts.password })
      .from(authAccounts)
      .where(and(eq(authAccounts.userId, s.user.id), eq(authAccounts.providerId, 'credential')));
    const ok = acct?.password ? await verifyPassword({ hash: acct.password, password: proof.password }) : false;
    if (!ok) {
      await appendAudit(db, auditActor(s), { action: 'auth.step_up_failed', objectType: 'session', objectId: s.session.id, after: { method: 'password' } });
      throw new AppError('BAD_REQUEST', 'That password is not right.');
    }
    method = 'password';
  } else {
    if (!s.user.twoFactorEnabled) throw new AppError('BAD_REQUEST', 'Two-factor authentication is not set up for this account.');
    try {
      await getAuth(db).api.verifyTOTP({ body: { code: proof.code }, headers });
    } catch {
      await appendAudit(db, auditActor(s), { action: 'auth.step_up_failed', objectType: 'session', objectId: s.session.id, after: { method: 'totp' } });
      throw new AppError('BAD_REQUEST', 'That code is not right.');
    }
    method = 'totp';
  }
  await markStepUp(db, s.session.id, method);
  await appendAudit(
    db,
    { ...auditActor(s), twoFactorFresh: true },
    { action: 'auth.step_up', objectType: 'session', objectId: s.session.id, after: { method } },
  );
  return { method };
}
