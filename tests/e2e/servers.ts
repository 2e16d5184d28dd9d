// Ports, folders and settings of the end-to-end apps, one per Playwright project: all different from
// `npm run dev`'s and the integration tests'. Read by playwright.config.ts and scripts/test.ts (no Playwright here).
import { testPort } from '../helpers/test-ports';

/** One app (embedded Postgres, simulator, web, worker) per Playwright project, so the projects run side by side. */
export const E2E_PROJECTS = ['desktop', 'phone'] as const;
export type E2EProject = (typeof E2E_PROJECTS)[number];

function server(project: E2EProject) {
  const shift = project === 'desktop' ? 0 : 10;
  const app = testPort(3210 + shift);
  const sim = testPort(3211 + shift);
  const pg = testPort(54349 + shift);
  return {
    appUrl: `http://127.0.0.1:${app}`,
    simulatorUrl: `http://127.0.0.1:${sim}`,
    /** The e2e app's embedded Postgres (tests reach in only to stage states no shopper can cause). */
    databaseUrl: `postgres://scanpay:scanpay@127.0.0.1:${pg}/scanpay`,
    serverEnv: {
      PORT: String(app),
      SIM_PORT: String(sim),
      PG_PORT: String(pg),
      DATA_DIR: project === 'desktop' ? '.data/e2e' : `.data/e2e-${project}`,
      NEXT_DIST_DIR: '.next-test',
      APP_URL: `http://127.0.0.1:${app}`,
      SIM_TIME_SCALE: '0.01',
      // The worker's first active query comes late (+100 s instead of +5 s), so the "I've paid" test shows
      // the shopper's own query finding the payment, not the worker's.
      COMPENSATION_TIME_SCALE: '20',
      // Above what the whole run creates in a minute; the rate-limit test exhausts it on purpose.
      CHECKOUT_RATE_LIMIT_PER_MINUTE: '30',
      // Every e2e browser signs in from 127.0.0.1: the per-IP lock must stay above the whole run's failures
      // (the per-account lock, 5, is what the lockout test exercises).
      ADMIN_SIGNIN_IP_MAX_FAILURES: '200',
      // ¥1,000: above every cart the tests fill, except the one that shows the limit.
      MAX_ORDER_AMOUNT_FEN: '100000',
      // Refunds: ¥200 and more wait for a second approver; one order's refunds 3 s apart, first query after 3 s.
      REFUND_APPROVAL_THRESHOLD_FEN: '20000',
      REFUND_TIME_SCALE: '0.05',
      NODE_ENV: 'production',
      WECHATPAY_MODE: 'simulator',
      NEXT_TELEMETRY_DISABLED: '1',
    } satisfies Record<string, string>,
  };
}

export const E2E_SERVERS: Record<E2EProject, ReturnType<typeof server>> = { desktop: server('desktop'), phone: server('phone') };
