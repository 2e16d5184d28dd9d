// The app's whole schema, one import for the code (`@/db/schema`) and for drizzle-kit, which generates the
// migrations from it (`npm run db:generate`) into db/migrations/ (committed). The payment core's tables are
// in db/schema-core.ts; each merchant-side area has its own db/schema-<area>.ts, which imports core tables
// from schema-core (never from this file, so no file imports the one that gathers it).
export * from './schema-core';
export * from './schema-stats';
export * from './schema-monitoring';
export * from './schema-api';
export * from './schema-reconciliation';
export * from './schema-console';
