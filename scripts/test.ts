// `npm test`: every runner — Vitest unit + integration while a production build is made, then the
// multi-process system suites (small chaos run, multi-instance, stops, outage...) beside Playwright (its two
// projects side by side, an app each) — each with its own embedded Postgres,
// ports and data dirs, so it passes while `npm run dev` runs. Ends with one line "N passed, N failed"
// summed over every runner, and exits non-zero on any failure.
// `npm run test:chaos` (--chaos): only the build and the system suites, with the full 200-order chaos run.
// First it makes sure the machine has what the browser and pooler tests need (scripts/lib/system-deps.ts):
// installed through apt-get as root, or named in one message (and counted as a failure) otherwise.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { assertSupportedNode } from '@/server/runtime';
import { log } from '@/server/log';
import { E2E_SERVERS } from '@/tests/e2e/servers';
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
if (!system.ok)
  brokenSteps++; // the suites still run, so the report shows what the missing packages break
else if (system.installed.length) say.info({ installed: system.installed }, 'installed system packages');

/** Runs a runner with this Node; its output to the terminal, or to `logFile` when given. */
function run(label: string, args: string[], env: Record<string, string> = {}, logFile?: string): Promise<number> {
  print(`\n▶ ${label}${logFile ? ` (output: ${logFile})` : ''}`);
  const fd = logFile ? openSync(logFile, 'w') : undefined;
  const child = spawn(process.execPath, args, { stdio: fd === undefined ? 'inherit' : ['ignore', fd, fd], env: { ...process.env, ...env } });
  return new Promise((resolve) => {
    child.on('error', () => resolve(1));
    child.on('exit', (code) => {
      if (fd !== undefined) closeSync(fd);
      resolve(code ?? 1);
    });
  });
}

function firstLine(text: string | undefined): string {
  return (
    (text ?? '')
      .split('\n')
      .find((l) => l.trim())
      ?.trim()
      .slice(0, 300) ?? ''
  );
}

/** Playwright's failing tests, walking its nested suites. */
function playwrightFailures(suite: any, titles: string[] = []): void {
  for (const s of suite.suites ?? []) playwrightFailures(s, [...titles, s.title]);
  for (const spec of suite.specs ?? [])
    for (const t of spec.tests ?? [])
      if (t.status === 'unexpected')
        failures.push(`${[...titles, spec.title].filter(Boolean).join(' › ')} [${t.projectName}]: ${firstLine(t.results?.at(-1)?.error?.message)}`);
}

function readJson(file: string): any {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

async function vitest(label: string, projects: string[], env: Record<string, string> = {}, logFile?: string): Promise<void> {
  const file = path.join(results, `vitest-${projects.join('-')}.json`);
  rmSync(file, { force: true });
  const code = await run(
    label,
    [bin('vitest'), 'run', ...projects.flatMap((p) => ['--project', p]), '--reporter=default', '--reporter=json', `--outputFile.json=${file}`],
    env,
    logFile,
  );
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
    if (f.status === 'failed' && !(f.assertionResults ?? []).some((t: { status: string }) => t.status === 'failed'))
      failures.push(`${rel}: ${firstLine(f.message)}`);
  }
  // A file that failed to load has no failing test of its own: count it.
  if (code !== 0 && report.numFailedTests === 0) brokenSteps++;
}

async function playwright(): Promise<void> {
  for (const server of Object.values(E2E_SERVERS)) rmSync(server.serverEnv.DATA_DIR, { recursive: true, force: true });
  const file = path.join(results, 'playwright.json');
  rmSync(file, { force: true });
  const code = await run('playwright (e2e, Chromium)', [bin('playwright'), 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: file });
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

// The system and end-to-end suites run a production build from its own dist dir (dev keeps .next/). It is
// built while the unit and integration tests run (they need no build): its output goes to a log of its own,
// printed if it fails.
const buildLog = path.join(results, 'build.log');
const building = run(
  'next build (test build)',
  [bin('next'), 'build'],
  { NEXT_DIST_DIR: E2E_SERVERS.desktop.serverEnv.NEXT_DIST_DIR, NEXT_TELEMETRY_DISABLED: '1' },
  buildLog,
);
if (!chaosOnly) await vitest('vitest: unit + integration', ['unit', 'integration']);
const buildCode = await building;
if (buildCode !== 0) {
  brokenSteps++;
  const lines = existsSync(buildLog) ? readFileSync(buildLog, 'utf8').trimEnd().split('\n') : [];
  print(`\n▶ next build failed: the last lines of ${buildLog}\n${lines.slice(-40).join('\n')}`);
} else if (chaosOnly) {
  await vitest('system: chaos (200 orders) + multi-instance', ['system'], { CHAOS_ORDERS: process.env.CHAOS_ORDERS ?? '200', CHAOS_TIMEOUT_MS: '600000' });
} else {
  // The system suites and the browser suite at once: their ports, data dirs and databases are apart, and
  // the run takes the longer of the two instead of their sum. The system suites write to a log of their
  // own (the terminal shows the browser's), whose end is printed when they are done.
  const systemLog = path.join(results, 'system.log');
  await Promise.all([vitest('system: chaos (small), multi-instance, stops, outage, refunds, webhooks', ['system'], {}, systemLog), playwright()]);
  const lines = existsSync(systemLog) ? readFileSync(systemLog, 'utf8').trimEnd().split('\n') : [];
  print(`\n▶ system suites: the last lines of ${systemLog}\n${lines.slice(-25).join('\n')}`);
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
