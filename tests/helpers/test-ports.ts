// TEST_PORT_OFFSET shifts every fixed test port (e2e and system suites), so two checkouts on one machine
// can run their suites at the same time.
export const TEST_PORT_OFFSET = Number(process.env.TEST_PORT_OFFSET ?? 0) || 0;
export const testPort = (port: number) => port + TEST_PORT_OFFSET;
