// The end-to-end app of the running test's project (tests and their helpers only: it asks Playwright which).
import { test } from '@playwright/test';
import { E2E_SERVERS, type E2EProject } from './servers';

export const E2E = {
  get current() {
    const name = test.info().project.name;
    if (!(name in E2E_SERVERS)) throw new Error(`no e2e server for project ${name}`);
    return E2E_SERVERS[name as E2EProject];
  },
  get appUrl() {
    return E2E.current.appUrl;
  },
  get simulatorUrl() {
    return E2E.current.simulatorUrl;
  },
  get databaseUrl() {
    return E2E.current.databaseUrl;
  },
  get serverEnv() {
    return E2E.current.serverEnv;
  },
};
