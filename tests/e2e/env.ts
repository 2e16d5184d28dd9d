// Ports and folders of the end-to-end app: all different from `npm run dev`'s and the integration tests'.
export const E2E = {
  appUrl: 'http://127.0.0.1:3210',
  simulatorUrl: 'http://127.0.0.1:3211',
  serverEnv: {
    PORT: '3210',
    SIM_PORT: '3211',
    PG_PORT: '54349',
    DATA_DIR: '.data/e2e',
    NEXT_DIST_DIR: '.next-test',
    APP_URL: 'http://127.0.0.1:3210',
    SIM_TIME_SCALE: '0.01',
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
  } as Record<string, string>,
};
