// `npm run admin -- users:create --email E --role R [--password P] [--name N]`: creates a console user
// (the first owner, typically). Without --password it generates one and prints it once. With
// DATABASE_URL unset it uses the same embedded Postgres as `npm run dev`, starting it if needed.
import { parseArgs } from 'node:util';
import { createDb } from '@/db/client';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { generatePassword } from '@/server/auth/passwords';
import { ROLES, RoleSchema } from '@/server/auth/permissions';
import { createAdminUser } from '@/server/auth/users';
import { AppError } from '@/server/errors';
import { bootDatabase, exitWithStartupError, StartupError } from './lib/boot';

const USAGE = `usage: npm run admin -- users:create --email you@example.com --role <${ROLES.join('|')}> [--password P] [--name N]`;

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'users:create') throw new StartupError(USAGE);
  const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, role: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } } });
  const role = RoleSchema.safeParse(values.role);
  if (!values.email || !role.success) throw new StartupError(USAGE);
  const booted = await bootDatabase({ seed: false, scope: 'admin' });
  const { db, sql } = createDb(booted.databaseUrl, { max: 2 });
  const generated = values.password ? null : generatePassword();
  try {
    const user = await createAdminUser(db, { ...SYSTEM_ACTOR, email: 'cli' }, { email: values.email, name: values.name, role: role.data, password: values.password ?? generated! });
    console.log(`Created ${user.role} ${user.email}.`);
    if (generated) console.log(`Password (shown once): ${generated}`);
    if (['owner', 'admin', 'finance', 'developer'].includes(user.role)) console.log('Two-factor enrolment is required at the first sign-in.');
  } catch (err) {
    if (err instanceof AppError) throw new StartupError(err.message);
    throw err;
  } finally {
    await sql.end();
    if (booted.postgres?.owned) await booted.postgres.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => exitWithStartupError(err),
);
