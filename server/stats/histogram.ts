// Latency histograms stored per hour: counts per fixed bucket, so hours and days add up element by element
// and percentiles of any period come from the sum (to the bucket's upper bound: coarse but mergeable).

/** Upper bounds in ms; bucket i counts values in [BOUNDS[i-1], BOUNDS[i]), the last bucket everything above. */
export const BOUNDS_MS = [100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000] as const;
export const BUCKETS = BOUNDS_MS.length + 1;

/** SQL's width_bucket(ms, BOUNDS) gives 0..BOUNDS.length: the same index as here. */
export function bucketOf(ms: number): number {
  let i = 0;
  while (i < BOUNDS_MS.length && ms >= BOUNDS_MS[i]!) i++;
  return i;
}

export function emptyHist(): number[] {
  return new Array(BUCKETS).fill(0);
}

export function fromRows(rows: readonly { b: number; n: number }[]): number[] {
  const h = emptyHist();
  for (const r of rows) h[Number(r.b)]! += Number(r.n);
  return h;
}

export function mergeHists(hists: readonly (readonly number[])[]): number[] {
  const h = emptyHist();
  for (const x of hists) {
    for (let i = 0; i < x.length && i < h.length; i++) h[i]! += x[i]!;
  }
  return h;
}

/** The q-quantile (0..1) as the upper bound of its bucket in ms; null when empty; Infinity above the last bound. */
export function quantile(hist: readonly number[], q: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return i < BOUNDS_MS.length ? BOUNDS_MS[i]! : Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}
