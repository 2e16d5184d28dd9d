// First-owner set-up without a default password: while no user exists, each start-up issues a one-time
// token (printed in the server log and written to DATA_DIR/admin-setup-token, 0600, like Jenkins'
// initialAdminPassword). The setup page trades it for the first owner; then it is dead for good.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { adminSetupTokens } from '@/db/schema';
import { AppError } from '@/server/errors';
import { SYSTEM_ACTOR, type AuditActor } from './audit';
import { MIN_PASSWORD_LENGTH } from './passwords';
import { countUsers, createAdminUser } from './users';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const setupTokenFile = (dataDir: string) => path.resolve(/*turbopackIgnore: true*/ dataDir, 'admin-setup-token');

/** Issues a fresh token when no user exists (returns it), else removes any leftover and returns null. */
export async function issueSetupToken(db: Db, dataDir: string): Promise<string | null> {
  if ((await countUsers(db)) > 0) {
    rmSync(setupTokenFile(dataDir), { force: true });
    return null;
  }
  const token = randomBytes(18).toString('base64url');
  await db
    .insert(adminSetupTokens)
    .values({ id: 1, tokenHash: sha256(token), createdAt: new Date(), usedAt: null })
    .onConflictDoUpdate({ target: adminSetupTokens.id, set: { tokenHash: sha256(token), createdAt: new Date(), usedAt: null } });
  mkdirSync(path.dirname(setupTokenFile(dataDir)), { recursive: true });
  writeFileSync(setupTokenFile(dataDir), `${token}\n`, { mode: 0o600 });
  return token;
}

export async function setupNeeded(db: Db): Promise<boolean> {
  return (await countUsers(db)) === 0;
}

/** Creates the first owner if the token matches and still no user exists (serialised by a row lock). */
export async function completeSetup(
  db: Db,
  input: { token: string; email: string; name?: string; password: string },
  meta: Pick<AuditActor, 'ip' | 'userAgent'>,
) {
  if (input.password.length < MIN_PASSWORD_LENGTH) throw new AppError('BAD_REQUEST', `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`);
  const ok = await db.transaction(async (tx) => {
    const [row] = await tx.select().from(adminSetupTokens).where(eq(adminSetupTokens.id, 1)).for('update');
    if (!row || row.usedAt) return false;
    const given = Buffer.from(sha256(input.token));
    if (!timingSafeEqual(given, Buffer.from(row.tokenHash))) return false;
    if ((await countUsers(tx)) > 0) return false;
    await tx.update(adminSetupTokens).set({ usedAt: sql`now()` }).where(eq(adminSetupTokens.id, 1));
    return true;
  });
  if (!ok) throw new AppError('BAD_REQUEST', 'That setup token is not valid (it changes at every start while no user exists).');
  return createAdminUser(
    db,
    { ...SYSTEM_ACTOR, email: 'setup-token', ip: meta.ip, userAgent: meta.userAgent },
    { email: input.email, name: input.name, role: 'owner', password: input.password },
  );
}
