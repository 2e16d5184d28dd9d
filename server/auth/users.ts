// Console users: created with a role (by an owner/admin, the CLI, or the first-owner setup page), role
// changes, deactivation. The last active owner can be neither demoted nor deactivated; only owners make
// or unmake owners. Every change is audited in the same transaction.
import { and, asc, count, desc, eq, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '@/db/client';
import { authAccounts, authSessions, authUsers } from '@/db/schema';
import { AppError } from '@/server/errors';
import { appendAudit, type AuditActor } from './audit';
import { hashPassword, MIN_PASSWORD_LENGTH } from './passwords';
import type { Role } from './permissions';

export interface NewUser {
  email: string;
  name?: string;
  role: Role;
  password: string;
}

export async function countUsers(db: DbOrTx): Promise<number> {
  const [row] = await db.select({ n: count() }).from(authUsers);
  return row?.n ?? 0;
}

/** Creates a user with a password credential (the same rows better-auth's sign-up writes). */
export async function createAdminUser(db: Db, actor: AuditActor, input: NewUser): Promise<{ id: string; email: string; role: Role }> {
  const email = input.email.trim().toLowerCase();
  if (input.password.length < MIN_PASSWORD_LENGTH) throw new AppError('BAD_REQUEST', `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`);
  if (input.role === 'owner' && actor.role !== null && actor.role !== 'owner') throw new AppError('BAD_REQUEST', 'Only an owner can create another owner.');
  const hash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: authUsers.id }).from(authUsers).where(eq(authUsers.email, email));
    if (existing) throw new AppError('CONFLICT', 'A user with this email already exists.');
    const id = crypto.randomUUID();
    const now = new Date();
    await tx
      .insert(authUsers)
      .values({ id, email, name: input.name?.trim() || email.split('@')[0] || email, role: input.role, emailVerified: true, createdAt: now, updatedAt: now });
    await tx
      .insert(authAccounts)
      .values({ id: crypto.randomUUID(), accountId: id, providerId: 'credential', userId: id, password: hash, createdAt: now, updatedAt: now });
    await appendAudit(tx, actor, { action: 'user.create', objectType: 'user', objectId: id, after: { email, role: input.role } });
    return { id, email, role: input.role };
  });
}

export async function listUsers(db: DbOrTx) {
  return db
    .select({
      id: authUsers.id,
      email: authUsers.email,
      name: authUsers.name,
      role: authUsers.role,
      active: authUsers.active,
      twoFactorEnabled: authUsers.twoFactorEnabled,
      createdAt: authUsers.createdAt,
      lastSeenAt: sql<Date | null>`(select max(${authSessions.updatedAt}) from ${authSessions} where ${authSessions.userId} = ${authUsers.id})`.mapWith((v) =>
        v ? new Date(v as string) : null,
      ),
    })
    .from(authUsers)
    .orderBy(asc(authUsers.createdAt));
}

async function otherActiveOwners(tx: DbOrTx, userId: string): Promise<number> {
  const [row] = await tx
    .select({ n: count() })
    .from(authUsers)
    .where(and(eq(authUsers.role, 'owner'), eq(authUsers.active, true), ne(authUsers.id, userId)));
  return row?.n ?? 0;
}

export async function changeRole(db: Db, actor: AuditActor, userId: string, role: Role, reason: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    // Serialise owner changes: two admins demoting the last two owners at once must not both succeed.
    await tx.execute(sql`select pg_advisory_xact_lock(7462201)`);
    const [u] = await tx.select().from(authUsers).where(eq(authUsers.id, userId));
    if (!u) throw new AppError('NOT_FOUND', 'No such user.');
    if (u.role === role) return;
    if ((u.role === 'owner' || role === 'owner') && actor.role !== 'owner') throw new AppError('BAD_REQUEST', 'Only an owner can make or unmake an owner.');
    if (u.role === 'owner' && u.active && (await otherActiveOwners(tx, userId)) === 0)
      throw new AppError('CONFLICT', 'This is the last owner: make someone else an owner first.');
    await tx.update(authUsers).set({ role, updatedAt: new Date() }).where(eq(authUsers.id, userId));
    // A new role means new permissions and maybe a 2FA duty: sign them in again.
    await tx.delete(authSessions).where(eq(authSessions.userId, userId));
    await appendAudit(tx, actor, { action: 'user.role_change', objectType: 'user', objectId: userId, before: { role: u.role }, after: { role }, reason });
  });
}

export async function setActive(db: Db, actor: AuditActor, userId: string, active: boolean, reason: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(7462201)`);
    const [u] = await tx.select().from(authUsers).where(eq(authUsers.id, userId));
    if (!u) throw new AppError('NOT_FOUND', 'No such user.');
    if (u.active === active) return;
    if (!active && u.role === 'owner') {
      if (actor.role !== 'owner') throw new AppError('BAD_REQUEST', 'Only an owner can deactivate an owner.');
      if ((await otherActiveOwners(tx, userId)) === 0) throw new AppError('CONFLICT', 'This is the last owner: it cannot be deactivated.');
    }
    await tx.update(authUsers).set({ active, updatedAt: new Date() }).where(eq(authUsers.id, userId));
    if (!active) await tx.delete(authSessions).where(eq(authSessions.userId, userId));
    await appendAudit(tx, actor, {
      action: active ? 'user.reactivate' : 'user.deactivate',
      objectType: 'user',
      objectId: userId,
      before: { active: u.active },
      after: { active },
      reason,
    });
  });
}

/** Sessions, newest use first. Never the token: only what a person needs to recognise a device. */
export async function listSessions(db: DbOrTx, userId?: string) {
  return db
    .select({
      id: authSessions.id,
      userId: authSessions.userId,
      email: authUsers.email,
      createdAt: authSessions.createdAt,
      lastUsedAt: authSessions.updatedAt,
      expiresAt: authSessions.expiresAt,
      ipAddress: authSessions.ipAddress,
      userAgent: authSessions.userAgent,
    })
    .from(authSessions)
    .innerJoin(authUsers, eq(authUsers.id, authSessions.userId))
    .where(and(userId ? eq(authSessions.userId, userId) : undefined, sql`${authSessions.expiresAt} > now()`))
    .orderBy(desc(authSessions.updatedAt));
}

/** Revokes one session; `onlyUserId` restricts it to the caller's own sessions. */
export async function revokeSession(db: Db, actor: AuditActor, sessionId: string, onlyUserId: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    const [s] = await tx.select({ id: authSessions.id, userId: authSessions.userId }).from(authSessions).where(eq(authSessions.id, sessionId));
    if (!s || (onlyUserId && s.userId !== onlyUserId)) throw new AppError('NOT_FOUND', 'No such session.');
    await tx.delete(authSessions).where(eq(authSessions.id, sessionId));
    await appendAudit(tx, actor, { action: 'session.revoke', objectType: 'session', objectId: sessionId, before: { userId: s.userId } });
  });
}
