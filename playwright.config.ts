import { defineConfig, devices } from '@playwright/test';
import { E2E } from './tests/e2e/env';

// End-to-end tests drive Debian's Chromium (never `npx playwright install`) against a production build
// started exactly as `npm start` does, with its own embedded Postgres, ports and data dir.
// Two viewports: a desktop whose browser asks for Chinese, and a phone whose browser asks for English
// (Accept-Language picks the page's language); tests that need the other language set the cookie.
const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
};

// Screenshots for docs/ are refreshed on request only: `SCREENSHOTS=1 npx playwright test screenshots`.
const screenshots = process.env.SCREENSHOTS === '1' ? [] : ['**/screenshots.spec.ts'];

export default defineConfig({
  testDir: 'tests/e2e',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  outputDir: 'test-results/e2e',
  use: {
    baseURL: E2E.appUrl,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions,
  },
  projects: [
    // `*.phone.spec.ts` files run in the phone project only.
    {
      name: 'desktop',
      testIgnore: [...screenshots, '**/*.phone.spec.ts'],
      use: { ...devices['Desktop Chrome'], channel: undefined, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' },
    },
    // Pixel 5: a 393 × 851 touch screen with a mobile user agent (the page warns about same-phone payment).
    { name: 'phone', testIgnore: screenshots, use: { ...devices['Pixel 5'], locale: 'en-US', timezoneId: 'Europe/London' } },
  ],
  webServer: {
    command: 'node --import tsx scripts/start.ts start',
    url: `${E2E.appUrl}/api/health`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    env: E2E.serverEnv,
  },
});
