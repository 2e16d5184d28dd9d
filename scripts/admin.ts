// `npm run admin -- users:create --email E --role R [--password P] [--name N]`: creates a console user
// (the first owner, typically). Without --password it generates one and prints it once.
// `npm run admin -- api-keys:create --name N --scopes S1,S2 [--expires-days D]`: an API key for a business
// system; the secret is printed once. With
// DATABASE_URL unset it uses the same embedded Postgres as `npm run dev`, starting it if needed.
// `npm run admin -- reconcile --date YYYY-MM-DD [--to YYYY-MM-DD]`: fetches and reconciles the bills of a
// Beijing day (or a range), as the 10:15 job does, and prints each day's outcome.
// `npm run admin -- stats:recompute [--from YYYY-MM-DD] [--to YYYY-MM-DD]`: recomputes the dashboard's
// statistics from the raw tables (default: from the first order's Beijing day to today), e.g. once after
// upgrading past migration 0015, which introduced the one-minute slices the hours are folded from.
import { parseArgs } from 'node:util';
import { createDb } from '@/db/client';
import { SYSTEM_ACTOR } from '@/server/auth/audit';
import { generatePassword } from '@/server/auth/passwords';
import { ROLES, RoleSchema } from '@/server/auth/permissions';
import { createAdminUser } from '@/server/auth/users';
import { createApiKey } from '@/server/api-keys/keys';
import { API_SCOPES, ApiScopeSchema } from '@/server/api-keys/scopes';
import { closeProcessDeps, processDeps } from '@/server/deps';
import { loadEnv } from '@/server/env';
import { AppError } from '@/server/errors';
import { billDateSchema, daysBetween } from '@/server/reconciliation/days';
import { MAX_RANGE_DAYS } from '@/server/reconciliation/pipeline';
import { reconcileDate } from '@/server/reconciliation/reconcile';
import { firstOrderDay, recomputeStats } from '@/server/stats/rollup';
import { beijingDay } from '@/server/stats/time';
import { bootDatabase, exitWithStartupError, StartupError } from './lib/boot';

const USAGE = [
  `usage: npm run admin -- users:create --email you@example.com --role <${ROLES.join('|')}> [--password P] [--name N]`,
  `       npm run admin -- api-keys:create --name N --scopes <${API_SCOPES.join(',')}> [--expires-days D]`,
  '       npm run admin -- reconcile --date YYYY-MM-DD [--to YYYY-MM-DD]',
  '       npm run admin -- stats:recompute [--from YYYY-MM-DD] [--to YYYY-MM-DD]',
].join('\n');

async function recomputeStatistics(rest: string[]) {
  const { values } = parseArgs({ args: rest, options: { from: { type: 'string' }, to: { type: 'string' } } });
  for (const v of [values.from, values.to]) if (v !== undefined && !billDateSchema.safeParse(v).success) throw new StartupError(USAGE);
  const booted = await bootDatabase({ seed: false, scope: 'admin' });
  const { db, sql } = createDb(booted.databaseUrl, { max: 2 });
  try {
    const to = values.to ?? beijingDay(new Date());
    const from = values.from ?? (await firstOrderDay(db)) ?? to;
    if (to < from) throw new StartupError('--to is before --from');
    const started = Date.now();
    await recomputeStats(db, from, to);
    console.log(`Recomputed the statistics of ${from} to ${to} (Beijing days) in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await sql.end();
    if (booted.postgres?.owned) await booted.postgres.stop();
  }
}

async function createKey(rest: string[]) {
  const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, scopes: { type: 'string' }, 'expires-days': { type: 'string' } } });
  const scopes = (values.scopes ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const parsed = ApiScopeSchema.array().min(1).safeParse(scopes);
  if (!values.name || !parsed.success) throw new StartupError(USAGE);
  const days = values['expires-days'] === undefined ? null : Number(values['expires-days']);
  if (days !== null && !(days > 0)) throw new StartupError('--expires-days must be a positive number of days');
  const mode = loadEnv().wechatpayMode;
  const booted = await bootDatabase({ seed: false, scope: 'admin' });
  const { db, sql } = createDb(booted.databaseUrl, { max: 2 });
  try {
    const { key, secret } = await createApiKey(
      db,
      { ...SYSTEM_ACTOR, email: 'cli' },
      { name: values.name, scopes: parsed.data, mode, expiresAt: days === null ? null : new Date(Date.now() + days * 86_400_000) },
    );
    console.log(`Created API key ${key.prefix}… "${key.name}" (${key.scopes.join(', ')}${key.expiresAt ? `, expires ${key.expiresAt.toISOString()}` : ''}).`);
    console.log(`Secret (shown once): ${secret}`);
  } catch (err) {
    if (err instanceof AppError) throw new StartupError(err.message);
    throw err;
  } finally {
    await sql.end();
    if (booted.postgres?.owned) await booted.postgres.stop();
  }
}

async function reconcile(rest: string[]) {
  const { values } = parseArgs({ args: rest, options: { date: { type: 'string' }, to: { type: 'string' } } });
  const from = billDateSchema.safeParse(values.date);
  const to = billDateSchema.safeParse(values.to ?? values.date);
  if (!from.success || !to.success || to.data < from.data) throw new StartupError(USAGE);
  const days = daysBetween(from.data, to.data);
  if (days.length > MAX_RANGE_DAYS) throw new StartupError(`at most ${MAX_RANGE_DAYS} days (WeChat serves three months of bills)`);
  const booted = await bootDatabase({ seed: false, scope: 'admin' });
  process.env.DATABASE_URL = booted.databaseUrl;
  const deps = processDeps();
  try {
    for (const date of days) {
      const run = await reconcileDate(deps, date);
      const files = run.files.map((f) => `${f.kind}=${f.status}`).join(' ');
      console.log(
        `${date}: ${run.status}${run.matchedPercent === null ? '' : `, ${run.matchedPercent}% matched`}, ${run.findings} new discrepancies, ${run.repairs} repairs (${files})`,
      );
    }
  } finally {
    await closeProcessDeps();
    if (booted.postgres?.owned) await booted.postgres.stop();
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'api-keys:create') return createKey(rest);
  if (command === 'reconcile') return reconcile(rest);
  if (command === 'stats:recompute') return recomputeStatistics(rest);
  if (command !== 'users:create') throw new StartupError(USAGE);
  const { values } = parseArgs({
    args: rest,
    options: { email: { type: 'string' }, role: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
  });
  const role = RoleSchema.safeParse(values.role);
  if (!values.email || !role.success) throw new StartupError(USAGE);
  const booted = await bootDatabase({ seed: false, scope: 'admin' });
  const { db, sql } = createDb(booted.databaseUrl, { max: 2 });
  const generated = values.password ? null : generatePassword();
  try {
    const user = await createAdminUser(
      db,
      { ...SYSTEM_ACTOR, email: 'cli' },
      { email: values.email, name: values.name, role: role.data, password: values.password ?? generated! },
    );
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
