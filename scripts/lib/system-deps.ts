// Machine packages the test suites need beyond npm: Debian's Chromium and CJK fonts for the browser tests,
// PgBouncer for the pooler system test. `npm test` calls ensureSystemPackages() before the runners: as
// root it installs what is missing through apt-get (saying what it does); otherwise it names exactly what
// to install and the run counts as failed (a test is never skipped for a missing package).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface SystemRequirement {
  /** Debian package that provides it. */
  pkg: string;
  /** What needs it, for the message. */
  why: string;
  /** True when it is already on this machine. */
  present(): boolean;
}

/** The first of `paths` that exists, or undefined. */
export function firstExisting(paths: readonly string[], exists: (p: string) => boolean = existsSync): string | undefined {
  return paths.find((p) => exists(p));
}

/** CJK fonts are present when fontconfig knows a Chinese font, or Noto CJK's folder exists. */
export function cjkFontsPresent(exists: (p: string) => boolean = existsSync): boolean {
  const fc = spawnSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' });
  if (fc.status === 0 && fc.stdout.trim().length > 0) return true;
  return firstExisting(['/usr/share/fonts/opentype/noto', '/usr/share/fonts/truetype/noto-cjk'], exists) !== undefined;
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PGBOUNCER_PATHS = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'] as const;

export function testRequirements(): SystemRequirement[] {
  return [
    { pkg: 'chromium', why: `the end-to-end tests drive ${CHROMIUM_PATH}`, present: () => existsSync(CHROMIUM_PATH) },
    { pkg: 'fonts-noto-cjk', why: 'Chinese pages render as boxes without CJK fonts', present: () => cjkFontsPresent() },
    { pkg: 'pgbouncer', why: 'a system test runs web and worker through PgBouncer', present: () => firstExisting(PGBOUNCER_PATHS) !== undefined },
  ];
}

export type CommandRunner = (command: string, args: string[], env: Record<string, string>) => number;

const runInherit: CommandRunner = (command, args, env) => spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;

export interface EnsureResult {
  ok: boolean;
  /** Packages that were missing at the start. */
  missing: string[];
  /** Packages installed by this call. */
  installed: string[];
  /** The one message shown when something is missing and could not be installed. */
  message?: string;
}

/**
 * Installs the missing packages with apt-get when running as root; otherwise returns one clear message.
 * `run` and `isRoot` are injectable so the fresh-machine path is tested without touching the machine.
 */
export function ensureSystemPackages(
  requirements: SystemRequirement[],
  opts: { isRoot?: boolean; run?: CommandRunner; say?: (line: string) => void } = {},
): EnsureResult {
  const say = opts.say ?? ((line: string) => process.stdout.write(`${line}\n`));
  const run = opts.run ?? runInherit;
  const isRoot = opts.isRoot ?? process.getuid?.() === 0;
  const missingReqs = requirements.filter((r) => !r.present());
  const missing = missingReqs.map((r) => r.pkg);
  if (missing.length === 0) return { ok: true, missing, installed: [] };

  const reasons = missingReqs.map((r) => `${r.pkg} (${r.why})`).join(', ');
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (!isRoot) {
    const message = `Missing system packages: ${reasons}. Install them with: sudo ${command}`;
    say(`✖ ${message}`);
    return { ok: false, missing, installed: [], message };
  }
  say(`Installing missing system packages for the tests: ${reasons}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  say('$ apt-get update');
  if (run('apt-get', ['update'], env) !== 0) {
    const message = 'apt-get update failed (see above); cannot install ' + missing.join(' ');
    say(`✖ ${message}`);
    return { ok: false, missing, installed: [], message };
  }
  say(`$ apt-get install -y ${missing.join(' ')}`);
  if (run('apt-get', ['install', '-y', ...missing], env) !== 0) {
    const message = `apt-get install -y ${missing.join(' ')} failed (see above)`;
    say(`✖ ${message}`);
    return { ok: false, missing, installed: [], message };
  }
  const still = missingReqs.filter((r) => !r.present()).map((r) => r.pkg);
  if (still.length) {
    const message = `installed ${missing.join(' ')}, but still missing: ${still.join(' ')}`;
    say(`✖ ${message}`);
    return { ok: false, missing, installed: missing.filter((p) => !still.includes(p)), message };
  }
  return { ok: true, missing, installed: missing };
}
