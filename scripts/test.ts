// `npm test`: every runner in turn (Vitest unit + integration, then a production build and Playwright),
// each with its own embedded Postgres, ports and data dirs, so it passes while `npm run dev` runs.
// Ends with one line "N passed, N failed" summed over every runner, and exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { assertSupportedNode } from '@/server/runtime';
import { E2E } from '@/tests/e2e/env';

assertSupportedNode();
// Each runner's bin, run with this (Node 24) executable rather than whatever `node` is first on PATH.
const bin = (name: string) => path.resolve('node_modules/.bin', name);
const results = 'test-results';
mkdirSync(results, { recursive: true });

interface Tally {
  runner: string;
  passed: number;
  failed: number;
  skipped: number;
}
const tallies: Tally[] = [];
let brokenSteps = 0;

function run(label: string, args: string[], env: Record<string, string> = {}): number {
  console.log(`\n▶ ${label}`);
  const res = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return res.status ?? 1;
}

function readJson(file: string): any {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

// 1. Vitest: unit and integration projects.
const vitestJson = path.join(results, 'vitest.json');
rmSync(vitestJson, { force: true });
const vitestCode = run('vitest (unit + integration)', [
  bin('vitest'),
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestJson}`,
]);
const vitest = readJson(vitestJson);
if (vitest) {
  tallies.push({
    runner: 'vitest',
    passed: vitest.numPassedTests,
    failed: vitest.numFailedTests,
    skipped: vitest.numPendingTests + vitest.numTodoTests,
  });
  // A file that failed to load has no failing test of its own: count it.
  if (vitestCode !== 0 && vitest.numFailedTests === 0) brokenSteps++;
} else brokenSteps++;

// 2. Production build for the end-to-end run, in its own dist dir (the dev server keeps .next/).
const buildCode = run('next build (e2e)', [bin('next'), 'build'], { NEXT_DIST_DIR: E2E.serverEnv.NEXT_DIST_DIR, NEXT_TELEMETRY_DISABLED: '1' });
if (buildCode !== 0) brokenSteps++;
else {
  // 3. Playwright in Debian's Chromium, against a fresh app data dir.
  rmSync(E2E.serverEnv.DATA_DIR, { recursive: true, force: true });
  const pwJson = path.join(results, 'playwright.json');
  rmSync(pwJson, { force: true });
  const pwCode = run('playwright (e2e)', [bin('playwright'), 'test', '--reporter=list,json'], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson,
  });
  const pw = readJson(pwJson);
  if (pw?.stats) {
    tallies.push({
      runner: 'playwright',
      passed: pw.stats.expected + (pw.stats.flaky ?? 0),
      failed: pw.stats.unexpected,
      skipped: pw.stats.skipped,
    });
    if (pwCode !== 0 && pw.stats.unexpected === 0) brokenSteps++;
  } else brokenSteps++;
}

const passed = tallies.reduce((n, t) => n + t.passed, 0);
const failed = tallies.reduce((n, t) => n + t.failed, 0) + brokenSteps;
const skipped = tallies.reduce((n, t) => n + t.skipped, 0);
console.log('');
for (const t of tallies) console.log(`  ${t.runner}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
if (brokenSteps) console.log(`  ${brokenSteps} step(s) failed outside any test (build, load or runner error)`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
