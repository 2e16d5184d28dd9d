// Servers and workers refuse to start on a Node older than 22.12 (pg-boss 12 and Vitest 5 need it);
// `npm run` puts the project's own Node 24 first on PATH.
export const MIN_NODE = [22, 12] as const;

export function isSupportedNode(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

export function assertSupportedNode(): void {
  if (!isSupportedNode()) {
    console.error(
      `Scanpay needs Node >= ${MIN_NODE.join('.')}, but this is Node ${process.versions.node}. ` +
        'Run it through npm (`npm run dev`, `npm start`, `npm run worker`), which uses the Node 24 installed with the project.',
    );
    process.exit(1);
  }
}
