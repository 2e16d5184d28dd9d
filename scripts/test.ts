// `npm test`: every runner in turn — Vitest unit + integration, a production build, the multi-process
// system suites (small chaos run, multi-instance), then Playwright — each with its own embedded Postgres,
// ports and data dirs, so it passes while `npm run dev` runs. Ends with one line "N passed, N failed"
// summed over every runner, and exits non-zero on any failure.
// `npm run test:chaos` (--chaos): only the build and the system suites, with the full 200-order chaos run.
// First it makes sure the machine has what the browser and pooler tests need (scripts/lib/system-deps.ts):
// installed through apt-get as root, or named in one message (and counted as a failure) otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { assertSupportedNode } from '@/server/runtime';
import { log } from '@/server/log';
import { E2E } from '@/tests/e2e/env';
import { ensureSystemPackages, testRequirements } from './lib/system-deps';

assertSupportedNode();
// Each runner's bin, run with this (Node 24) executable rather than whatever `node` is first on PATH.
const bin = (name: string) => path.resolve('node_modules/.bin', name);
const results = 'test-results';
mkdirSync(results, { recursive: true });
const chaosOnly = process.argv.includes('--chaos');

interface Tally {
  runner: string;
  passed: number;
  failed: number;
  skipped: number;
}
const tallies: Tally[] = [];
/** Every failing test by name, repeated at the end: a CI log is often read from its tail only. */
const failures: string[] = [];
let brokenSteps = 0;
const say = log('test');
const print = (line: string) => process.stdout.write(`${line}\n`);

const system = ensureSystemPackages(testRequirements(), { say: print });
if (!system.ok) brokenSteps++; // the suites still run, so the report shows what the missing packages break
else if (system.installed.length) say.info({ installed: system.installed }, 'installed system packages');

function run(label: string, args: string[], env: Record<string, string> = {}): number {
  print(`\n▶ ${label}`);
  const res = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return res.status ?? 1;
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n').find((l) => l.trim())?.trim().slice(0, 300) ?? '';
}

/** Playwright's failing tests, walking its nested suites. */
function playwrightFailures(suite: any, titles: string[] = []): void {
  for (const s of suite.suites ?? []) playwrightFailures(s, [...titles, s.title]);
  for (const spec of suite.specs ?? [])
    for (const t of spec.tests ?? [])
      if (t.status === 'unexpected') failures.push(`${[...titles, spec.title].filter(Boolean).join(' › ')} [${t.projectName}]: ${firstLine(t.results?.at(-1)?.error?.message)}`);
}

function readJson(file: string): any {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

function vitest(label: string, projects: string[], env: Record<string, string> = {}): void {
  const file = path.join(results, `vitest-${projects.join('-')}.json`);
  rmSync(file, { force: true });
  const code = run(label, [bin('vitest'), 'run', ...projects.flatMap((p) => ['--project', p]), '--reporter=default', '--reporter=json', `--outputFile.json=${file}`], env);
  const report = readJson(file);
  if (!report) {
    brokenSteps++;
    return;
  }
  tallies.push({
    runner: `vitest ${projects.join('+')}`,
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests + report.numTodoTests,
  });
  for (const f of report.testResults ?? []) {
    const rel = path.relative(process.cwd(), f.name);
    for (const t of f.assertionResults ?? []) if (t.status === 'failed') failures.push(`${rel} › ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
    if (f.status === 'failed' && !(f.assertionResults ?? []).some((t: { status: string }) => t.status === 'failed')) failures.push(`${rel}: ${firstLine(f.message)}`);
  }
  // A file that failed to load has no failing test of its own: count it.
  if (code !== 0 && report.numFailedTests === 0) brokenSteps++;
}

function playwright(): void {
  rmSync(E2E.serverEnv.DATA_DIR, { recursive: true, force: true });
  const file = path.join(results, 'playwright.json');
  rmSync(file, { force: true });
  const code = run('playwright (e2e, Chromium)', [bin('playwright'), 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: file });
  const report = readJson(file);
  if (!report?.stats) {
    brokenSteps++;
    return;
  }
  playwrightFailures(report);
  tallies.push({
    runner: 'playwright',
    passed: report.stats.expected + (report.stats.flaky ?? 0),
    failed: report.stats.unexpected,
    skipped: report.stats.skipped,
  });
  if (code !== 0 && report.stats.unexpected === 0) brokenSteps++;
}

if (!chaosOnly) vitest('vitest: unit + integration', ['unit', 'integration']);

// The system and end-to-end suites run a production build from its own dist dir (dev keeps .next/).
const buildCode = run('next build (test build)', [bin('next'), 'build'], { NEXT_DIST_DIR: E2E.serverEnv.NEXT_DIST_DIR, NEXT_TELEMETRY_DISABLED: '1' });
if (buildCode !== 0) brokenSteps++;
else if (chaosOnly) {
  vitest('system: chaos (200 orders) + multi-instance', ['system'], { CHAOS_ORDERS: process.env.CHAOS_ORDERS ?? '200', CHAOS_TIMEOUT_MS: '600000' });
} else {
  vitest('system: chaos (small) + multi-instance', ['system']);
  playwright();
}

const passed = tallies.reduce((n, t) => n + t.passed, 0);
const failed = tallies.reduce((n, t) => n + t.failed, 0) + brokenSteps;
const skipped = tallies.reduce((n, t) => n + t.skipped, 0);
print('');
for (const t of tallies) print(`  ${t.runner}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
for (const f of failures) print(`  ✗ ${f}`);
if (!system.ok) print(`  missing system packages: ${system.missing.join(' ')} (${system.message})`);
if (brokenSteps) print(`  ${brokenSteps} step(s) failed outside any test (system packages, build, load or runner error)`);
print(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
