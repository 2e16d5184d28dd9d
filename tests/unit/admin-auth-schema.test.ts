// better-auth's drizzle adapter silently drops fields our tables lack (an empty UPDATE SET and a 500 on
// every 2FA verify, as 1.6.30 did to others): every field of the pinned version's schema, with our
// plugins and additional fields, must be a column of our table — run after every better-auth upgrade.
import { getAuthTables } from 'better-auth/db';
import { twoFactor } from 'better-auth/plugins';
import { getTableColumns } from 'drizzle-orm';
import { expect, test } from 'vitest';
import { authAccounts, authSessions, authTwoFactors, authUsers, authVerifications } from '@/db/schema';

const ours = { user: authUsers, session: authSessions, account: authAccounts, verification: authVerifications, twoFactor: authTwoFactors };

test('our auth_* tables have every field better-auth 1.7.25 writes', () => {
  const tables = getAuthTables({
    plugins: [twoFactor()],
    user: {
      additionalFields: {
        role: { type: 'string', required: false, defaultValue: 'viewer', input: false },
        active: { type: 'boolean', required: false, defaultValue: true, input: false },
      },
    },
  });
  expect(Object.keys(tables).sort()).toEqual(Object.keys(ours).sort());
  for (const [model, def] of Object.entries(tables)) {
    const columns = getTableColumns(ours[model as keyof typeof ours]);
    for (const field of ['id', ...Object.keys(def.fields)]) expect(columns, `${model}.${field}`).toHaveProperty(field);
  }
});
