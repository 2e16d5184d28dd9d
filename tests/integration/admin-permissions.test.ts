// Table-driven: every procedure under `admin` declares a permission, and every one is called as every
// role — a role without the permission gets FORBIDDEN (checked before the input is even parsed), a role
// with it gets past the check; nobody signed in gets UNAUTHORIZED.
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { closeDb } from '../helpers/db';
import { can, ROLES, type Permission, type Role } from '@/server/auth/permissions';
import { appRouter } from '@/server/trpc/root';
import { callerFor, signedInUser, type SignedIn } from '../helpers/admin';

type AnyProcedure = { _def: { meta?: { permission?: Permission | 'self' }; type: string } };
const procedures = Object.entries((appRouter as unknown as { _def: { procedures: Record<string, AnyProcedure> } })._def.procedures).filter(([path]) =>
  path.startsWith('admin.'),
);

const users = new Map<Role, SignedIn>();
beforeAll(async () => {
  for (const role of ROLES) users.set(role, await signedInUser(role));
}, 120_000);
afterAll(() => closeDb());

test('the admin router has procedures, and every one declares its permission', () => {
  expect(procedures.length).toBeGreaterThan(10);
  for (const [path, p] of procedures) expect(p._def.meta?.permission, path).toBeTruthy();
});

async function call(role: Role | null, path: string): Promise<string> {
  const caller = callerFor(role ? users.get(role)!.headers() : undefined) as unknown as Record<string, unknown>;
  const fn = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (input: unknown) => Promise<unknown>;
  try {
    // Deliberately invalid input: an allowed role then stops at input validation (BAD_REQUEST), never running the action.
    await fn({ __invalid: true, userId: 123, sessionId: 123, id: 'not-a-uuid', filter: 'x', role: 'nope', password: 1, code: 'x' });
    return 'OK';
  } catch (e) {
    if (e instanceof TRPCError) return e.code;
    throw e;
  }
}

describe.each(procedures.map(([path, p]) => ({ path, permission: p._def.meta!.permission! })))('$path ($permission)', ({ path, permission }) => {
  test.each([...ROLES])('as %s', async (role) => {
    const got = await call(role, path);
    const allowed = permission === 'self' || can(role, permission);
    if (allowed) expect(got, `${role} should pass the permission check`).not.toMatch(/FORBIDDEN|UNAUTHORIZED/);
    else expect(got).toBe('FORBIDDEN');
  });
  test('signed out', async () => {
    expect(await call(null, path)).toBe('UNAUTHORIZED');
  });
});

test('viewers see payer ids masked', async () => {
  const { maskOpenid, seesFullPayerId } = await import('@/server/auth/permissions');
  expect(seesFullPayerId('viewer')).toBe(false);
  expect(seesFullPayerId('support')).toBe(true);
  expect(maskOpenid('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o')).toBe('oUpF…eS6o');
});
