// The worker's delivery loop: WEBHOOK_WORKER_CONCURRENCY attempts in flight, each settled when its own
// answer comes and its place taken at once by the next due delivery (server/webhooks/deliveries.ts claims,
// sends and settles). A slow receiver therefore holds only its own places — at most
// WEBHOOK_ENDPOINT_CONCURRENCY, across every worker — and never a batch of other endpoints' attempts.
// Attempts that end together are settled together (one transaction while the previous one runs), and
// claims are taken for every free place at once, so the database's work per delivery stays small.
// Woken by NOTIFY when deliveries become due, by its own retry timers, and by a poll as the backstop. While
// the worker's payment queue is behind, due attempts wait up to BACKLOG_DEFER_MS (server/queue/backlog.ts).
import postgres from 'postgres';
import type { AppDeps } from '@/server/deps';
import { log } from '@/server/log';
import { throttledErrorLog } from '@/server/throttled-log';
import { claimDeliveries, DELIVERIES_DUE_CHANNEL, sendAttempt, settleAttempts, type ClaimedAttempt, type SentAttempt } from './deliveries';
import { createSender, type Sender } from './send';

/** Attempts settled in one transaction at most (a statement's parameters and a lock set stay small). */
const MAX_SETTLE = 64;
/** How long a stop waits for the attempts in flight: within the supervisor's 4 s grace, beside pg-boss's own
 * stop. An attempt not settled by then is sent again when its lease runs out (at least once, never lost). */
const STOP_WAIT_MS = 2_000;

export interface DeliveryDispatcher {
  /** Look for due deliveries now (also called by the NOTIFY listener and the timers). */
  wake(): void;
  /** Attempts sent and not yet settled. */
  inFlight(): number;
  /** Stops claiming and waits up to STOP_WAIT_MS for the attempts in flight to be settled. */
  stop(): Promise<void>;
}

const logger = () => log('webhooks');

export async function startDeliveryDispatcher(deps: AppDeps, opts: { sender?: Sender; listen?: boolean } = {}): Promise<DeliveryDispatcher> {
  const { env } = deps;
  // Live mode never reaches private addresses; the simulator's local receivers are allowed.
  const sender = opts.sender ?? createSender({ allowPrivate: env.wechatpayMode !== 'live' });
  const slots = env.WEBHOOK_WORKER_CONCURRENCY;
  const warnClaim = throttledErrorLog(logger(), 'could not claim due deliveries (trying again at the next poll)', 10_000);
  let inFlight = 0;
  let claiming = false;
  let wanted = false;
  let stopped = false;
  let settling = false;
  const sent: SentAttempt[] = [];
  let drained: (() => void) | undefined;
  let retryTimer: { at: number; timer: NodeJS.Timeout } | undefined;

  const wake = () => {
    wanted = true;
    void pump();
  };

  async function pump() {
    if (claiming || stopped) return;
    claiming = true;
    try {
      while (wanted && !stopped && inFlight < slots) {
        wanted = false;
        const free = slots - inFlight;
        let claimed: ClaimedAttempt[];
        try {
          // While the payment queue is behind, a delivery waits until it is BACKLOG_DEFER_MS overdue (the
          // poll takes it then): the CPU goes to payments first, and no delivery waits longer than that for them.
          const behind = env.BACKLOG_DEFER_MS > 0 && deps.paymentBacklog?.behind() === true;
          claimed = await claimDeliveries(deps, free, behind ? { deferMs: env.BACKLOG_DEFER_MS } : {});
        } catch (err) {
          warnClaim(err);
          break;
        }
        for (const c of claimed) {
          inFlight++;
          void attempt(c);
        }
        // Every free place was filled: more may be due, claimed as places free up.
        if (claimed.length === free) wanted = true;
      }
    } finally {
      claiming = false;
    }
  }

  async function attempt(c: ClaimedAttempt) {
    try {
      sent.push(await sendAttempt(deps, sender, c));
    } catch (err) {
      // Not sent (sendAttempt reports a failed request as an answer; this is a bug of ours): its place is
      // given back, and the delivery is due again when its lease runs out.
      logger().error({ err: err instanceof Error ? err.message : String(err), deliveryId: c.d.id }, 'could not send a delivery attempt');
      inFlight--;
      if (inFlight === 0) drained?.();
      wake();
      return;
    }
    void settle();
  }

  async function settleBatch(batch: SentAttempt[]) {
    try {
      const { nextDueAt } = await settleAttempts(deps, batch);
      if (nextDueAt) wakeAt(nextDueAt.getTime());
    } catch (err) {
      if (batch.length > 1) {
        // One attempt's write must not hold back its neighbours' outcomes.
        for (const one of batch) await settleBatch([one]);
        return;
      }
      // Sent but not written: the lease runs out and the attempt is sent again (at least once, never lost).
      logger().warn({ err: err instanceof Error ? err.message : String(err), deliveryId: batch[0]?.claimed.d.id }, 'could not settle a delivery attempt');
    }
  }

  async function settle() {
    if (settling) return;
    settling = true;
    try {
      while (sent.length) {
        const batch = sent.splice(0, MAX_SETTLE);
        await settleBatch(batch);
        inFlight -= batch.length;
        if (inFlight === 0) drained?.();
        wake();
      }
    } finally {
      settling = false;
    }
  }

  function wakeAt(at: number) {
    if (stopped || (retryTimer && retryTimer.at <= at)) return;
    if (retryTimer) clearTimeout(retryTimer.timer);
    const timer = setTimeout(
      () => {
        retryTimer = undefined;
        wake();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    retryTimer = { at, timer };
  }

  const poll = setInterval(wake, env.WEBHOOK_POLL_MS);
  poll.unref();

  let listener: postgres.Sql | undefined;
  if (opts.listen !== false && env.DATABASE_URL) {
    // A dedicated session: LISTEN does not survive a pooled connection. postgres.js listens again after a reconnect.
    listener = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {}, connection: { application_name: `${env.SCANPAY_PROCESS_NAME}-webhooks` } });
    await listener.listen(DELIVERIES_DUE_CHANNEL, wake);
  }
  wake();

  return {
    wake,
    inFlight: () => inFlight,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(poll);
      if (retryTimer) clearTimeout(retryTimer.timer);
      await listener?.end({ timeout: 5 });
      if (inFlight > 0) {
        const done = new Promise<void>((resolve) => (drained = resolve));
        const bound = new Promise<void>((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref());
        await Promise.race([done, bound]);
      }
    },
  };
}
