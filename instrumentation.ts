// Runs once per Next server instance (not during `next build`). Node-only start-up lives in
// server/web-boot.ts so the Edge compilation of this file never sees Node APIs.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { bootWebProcess } = await import('./server/web-boot');
    await bootWebProcess();
  }
}
