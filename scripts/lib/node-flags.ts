// Heap limits for the long-running processes. Node otherwise sizes its heap for the whole machine (GBs on a
// large box) and grows it lazily; these processes need far less. Measured with `npm run bench`: no
// throughput cost, peak RSS about half (docs/benchmarks.md). `npm start` and the benchmark both use these;
// `npm run worker` has the same flags in package.json (a unit test keeps the two equal).
export const WEB_HEAP_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=256'] as const;
export const WORKER_HEAP_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=192'] as const;
