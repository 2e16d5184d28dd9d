// Fault injection (issue 3, control API `PUT /_sim/faults`): the ways real WeChat Pay misbehaves that a
// merchant must survive — lost, duplicated, late and reordered notifications, signature probes, 500s,
// slow and hung API calls — plus which key signs (certificate → public-key migration).
//
// The fault set is stored in the simulator's own schema, one row per merchant, so every simulator process
// sharing the database (and a restarted one) injects the same faults. Each process caches it for a short
// TTL: the hot paths (every API call, every notifier tick) then cost no query, and a PUT is seen by the
// process that served it at once and by the others within FAULT_CACHE_TTL_MS.
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { Db } from './store';

const rate = z.number().min(0).max(1);
/** [min, max] in milliseconds, inclusive. Capped so a delayed notification attempt stays well inside its claim lease. */
const msRange = (max: number) =>
  z.tuple([z.int().min(0).max(max), z.int().min(0).max(max)]).refine(([min, maxMs]) => min <= maxMs, 'range must be [min, max] with min ≤ max');

export const KEY_MODES = ['certificate', 'public-key', 'migrating'] as const;
export type KeyMode = (typeof KEY_MODES)[number];

/**
 * What `PUT /_sim/faults` accepts. Every field is optional and a PUT replaces the whole set, so `{}` clears
 * every fault. Unknown fields are refused: a misspelt fault that silently does nothing would make a chaos
 * test pass for the wrong reason.
 */
export const FaultsInput = z.strictObject({
  /** Probability that a notification attempt is not sent at all; WeChat's retry schedule still runs. */
  notifyDropRate: rate.optional(),
  /** Probability that a sent notification attempt is followed by a second copy (same id, fresh signature). */
  notifyDuplicateRate: rate.optional(),
  /** Random extra delay before each notification attempt (and before a duplicate copy). */
  notifyDelayMs: msRange(60_000).optional(),
  /** Attempts that fall due together are sent in random order. */
  notifyReorder: z.boolean().optional(),
  /** Probability that a response or notification attempt carries a WECHATPAY/SIGNTEST/ probe signature. */
  probeSignatureRate: rate.optional(),
  /** Probability that an API call answers a signed 500 SYSTEM_ERROR without doing anything. */
  apiErrorRate: rate.optional(),
  /** Latency added to every API call. */
  apiLatencyMs: msRange(120_000).optional(),
  /** Probability that an API call never answers (see TIMEOUT_AFTER_WORK_RATE). */
  apiTimeoutRate: rate.optional(),
  /** Which WeChat key signs; absent = the default described on resolveSigner in http.ts. */
  keyMode: z.enum(KEY_MODES).optional(),
  /** Like apiErrorRate, for refund calls only (create and apply-abnormal-refund), on top of apiErrorRate. */
  refundErrorRate: rate.optional(),
  /** Like apiTimeoutRate, for refund calls only: half time out after the refund was accepted. */
  refundTimeoutRate: rate.optional(),
});
export type FaultsInput = z.infer<typeof FaultsInput>;

/** The effective set with every default filled in, as `GET /_sim/faults` reports it. */
export interface Faults {
  notifyDropRate: number;
  notifyDuplicateRate: number;
  notifyDelayMs: [number, number];
  notifyReorder: boolean;
  probeSignatureRate: number;
  apiErrorRate: number;
  apiLatencyMs: [number, number];
  apiTimeoutRate: number;
  /** null: no mode forced (responses follow Wechatpay-Serial, notifications use the public key). */
  keyMode: KeyMode | null;
  refundErrorRate: number;
  refundTimeoutRate: number;
}

export const NO_FAULTS: Faults = Object.freeze({
  notifyDropRate: 0,
  notifyDuplicateRate: 0,
  notifyDelayMs: [0, 0],
  notifyReorder: false,
  probeSignatureRate: 0,
  apiErrorRate: 0,
  apiLatencyMs: [0, 0],
  apiTimeoutRate: 0,
  keyMode: null,
  refundErrorRate: 0,
  refundTimeoutRate: 0,
}) as Faults;

export function resolveFaults(input: FaultsInput): Faults {
  return {
    notifyDropRate: input.notifyDropRate ?? 0,
    notifyDuplicateRate: input.notifyDuplicateRate ?? 0,
    notifyDelayMs: input.notifyDelayMs ?? [0, 0],
    notifyReorder: input.notifyReorder ?? false,
    probeSignatureRate: input.probeSignatureRate ?? 0,
    apiErrorRate: input.apiErrorRate ?? 0,
    apiLatencyMs: input.apiLatencyMs ?? [0, 0],
    apiTimeoutRate: input.apiTimeoutRate ?? 0,
    keyMode: input.keyMode ?? null,
    refundErrorRate: input.refundErrorRate ?? 0,
    refundTimeoutRate: input.refundTimeoutRate ?? 0,
  };
}

/**
 * Of the API calls that time out, this share performs the operation first and only then hangs: a real
 * timeout can strike after WeChat did the work (the order exists, the refund was accepted), which is exactly
 * why the client may only retry idempotent calls with identical parameters. The rest hang before doing anything.
 */
export const TIMEOUT_AFTER_WORK_RATE = 0.5;
/** How long a "timed out" call holds its socket before the simulator drops it (or until the client gives up). */
export const TIMEOUT_HOLD_MS = 30_000;
export const FAULT_CACHE_TTL_MS = 250;

/** Probability that at least one of two independent faults strikes. */
export function either(p: number, q: number): number {
  return 1 - (1 - p) * (1 - q);
}

/** True with probability `p` (0 never, 1 always). */
export function chance(p: number): boolean {
  return p > 0 && (p >= 1 || Math.random() < p);
}

/** Uniform integer in [min, max]. */
export function pick([min, max]: readonly [number, number]): number {
  return max <= min ? min : randomInt(min, max + 1);
}

export interface FaultStore {
  /** The current set (cached for FAULT_CACHE_TTL_MS). Never rejects: a database hiccup means "no faults". */
  get(): Promise<Faults>;
  /** Replaces the whole set; returns the effective one. */
  replace(input: FaultsInput): Promise<Faults>;
}

export function createFaultStore(sql: Db, mchid: string): FaultStore {
  let cached: { faults: Faults; at: number } | null = null;
  let loading: Promise<Faults> | null = null;

  async function load(): Promise<Faults> {
    try {
      const rows = await sql<{ faults: unknown }[]>`select faults from wechatpay_sim.faults where mchid = ${mchid}`;
      const parsed = rows[0] ? FaultsInput.safeParse(rows[0].faults) : null;
      const faults = parsed?.success ? resolveFaults(parsed.data) : NO_FAULTS;
      cached = { faults, at: Date.now() };
      return faults;
    } catch {
      // Keep serving the last known set rather than failing requests over a fault-injection lookup.
      return cached?.faults ?? NO_FAULTS;
    } finally {
      loading = null;
    }
  }

  return {
    get() {
      if (cached && Date.now() - cached.at < FAULT_CACHE_TTL_MS) return Promise.resolve(cached.faults);
      return (loading ??= load());
    },
    async replace(input) {
      const stored = FaultsInput.parse(input);
      await sql`
        insert into wechatpay_sim.faults (mchid, faults, updated_at) values (${mchid}, ${sql.json(stored)}, ${new Date()})
        on conflict (mchid) do update set faults = excluded.faults, updated_at = excluded.updated_at`;
      const faults = resolveFaults(stored);
      cached = { faults, at: Date.now() };
      return faults;
    },
  };
}
