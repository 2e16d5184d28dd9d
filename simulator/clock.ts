// The simulated clock: business time (order expiry, refund processing and spacing, the 1-year refund window,
// success times, bill days and their 10:00 availability, notification schedules) is wall time plus an offset
// that the control API moves forward (`POST /_sim/clock`). Signatures and their ±5-minute window stay on wall
// time: both sides sign with real clocks, whatever day the simulation is in.
//
// The offset is stored per merchant in wechatpay_sim.clock so every simulator process sharing the database
// agrees; each caches it for CLOCK_CACHE_TTL_MS, and the process that moves it sees the move at once.
import * as store from './store';
import type { Db } from './store';

export const CLOCK_CACHE_TTL_MS = 250;

export interface SimClock {
  /** Simulated epoch ms (synchronous: the cached offset). */
  now(): number;
  offsetMs(): number;
  /** Re-reads the offset when the cache is stale; never rejects. */
  refresh(): Promise<void>;
  /** Moves simulated time forward by `ms` (≥ 0: time never runs backwards). Returns the new offset. */
  advance(ms: number): Promise<number>;
  /** Sets the offset outright (0 = wall time), as long as it does not move time backwards unless `allowBackwards`. */
  set(offsetMs: number, allowBackwards?: boolean): Promise<number>;
}

export function createClock(sql: Db, mchid: string): SimClock {
  let offset = 0;
  let loadedAt = 0;
  let loading: Promise<void> | null = null;

  async function load(): Promise<void> {
    try {
      offset = await store.readClockOffset(sql, mchid);
      loadedAt = Date.now();
    } catch {
      // Keep the last known offset over a database hiccup.
    } finally {
      loading = null;
    }
  }

  return {
    now: () => Date.now() + offset,
    offsetMs: () => offset,
    refresh() {
      if (Date.now() - loadedAt < CLOCK_CACHE_TTL_MS) return Promise.resolve();
      return (loading ??= load());
    },
    async advance(ms) {
      await load();
      const next = offset + Math.max(0, Math.round(ms));
      await store.writeClockOffset(sql, mchid, next);
      offset = next;
      loadedAt = Date.now();
      return next;
    },
    async set(next, allowBackwards = false) {
      await load();
      const value = allowBackwards ? Math.round(next) : Math.max(offset, Math.round(next));
      await store.writeClockOffset(sql, mchid, value);
      offset = value;
      loadedAt = Date.now();
      return value;
    },
  };
}
