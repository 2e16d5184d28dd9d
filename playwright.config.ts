import { defineConfig, devices } from '@playwright/test';
import { E2E_SERVERS } from './tests/e2e/servers';

// End-to-end tests drive Debian's Chromium (never `npx playwright install`) against a production build
// started exactly as `npm start` does, with its own embedded Postgres, ports and data dir.
// Two viewports: a desktop whose browser asks for Chinese, and a phone whose browser asks for English
// (Accept-Language picks the page's language); tests that need the other language set the cookie.
// Each project has an app of its own (tests/e2e/servers.ts), so the two run side by side, each one test at
// a time (tests of one project share their app's simulator faults, rate limits and first owner).
const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
};

// Screenshots for docs/ are refreshed on request only: `SCREENSHOTS=1 npx playwright test screenshots`.
const screenshots = process.env.SCREENSHOTS === '1' ? [] : ['**/screenshots.spec.ts'];
// Each walk of the console runs on one viewport (they test what the server does behind the pages, the
// same on both), split so the two projects take about as long; every console page is checked with axe and
// for fitting the screen on both (admin-pages-a11y.spec.ts). The checks of the security headers and of the
// axe helper itself need no second viewport.
const spec = (name: string) => `**/${name}.spec.ts`;
const DESKTOP_ONLY = ['admin-console', 'admin-dashboard', 'admin-developers', 'axe-helper', 'security-headers'].map(spec);
const PHONE_ONLY = ['**/*.phone.spec.ts', ...['admin-products', 'admin-reconciliation', 'admin-refunds'].map(spec)];

export default defineConfig({
  testDir: 'tests/e2e',
  fullyParallel: false,
  workers: 2,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  outputDir: 'test-results/e2e',
  use: {
    // A failing test keeps its trace (actions, DOM snapshots, network); the screencast is left out, whose frames
    // Chromium would encode for every test, passing or not.
    trace: { mode: 'retain-on-failure', screenshots: false, snapshots: true, sources: true },
    screenshot: 'only-on-failure',
    launchOptions,
  },
  projects: [
    {
      name: 'desktop',
      workers: 1,
      testIgnore: [...screenshots, ...PHONE_ONLY],
      use: { ...devices['Desktop Chrome'], channel: undefined, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', baseURL: E2E_SERVERS.desktop.appUrl },
    },
    // Pixel 5: a 393 × 851 touch screen with a mobile user agent (the page warns about same-phone payment).
    // Drawn at one device pixel per CSS pixel except for the docs' screenshots: the layout, the touch events
    // and every check are the same, and without a GPU the phone's 2.75 would be 7.6 times the pixels to paint.
    {
      name: 'phone',
      workers: 1,
      testIgnore: [...screenshots, ...DESKTOP_ONLY],
      use: {
        ...devices['Pixel 5'],
        ...(process.env.SCREENSHOTS === '1' ? {} : { deviceScaleFactor: 1 }),
        locale: 'en-US',
        timezoneId: 'Europe/London',
        baseURL: E2E_SERVERS.phone.appUrl,
      },
    },
  ],
  webServer: Object.values(E2E_SERVERS).map((server) => ({
    command: 'node --import tsx scripts/start.ts start',
    url: `${server.appUrl}/api/health`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: 'pipe' as const,
    stderr: 'pipe' as const,
    gracefulShutdown: { signal: 'SIGTERM' as const, timeout: 20_000 },
    env: server.serverEnv,
  })),
});
