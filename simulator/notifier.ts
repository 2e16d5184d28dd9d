// Notifications (payments and refunds): the §6.2 envelope with an AES-GCM resource, POSTed with fresh signature headers on
// every attempt, retried on WeChat's 24h4m schedule (reference §6.5). Deliveries live in Postgres, so a
// restart resumes them; a small poll loop claims due rows with SKIP LOCKED, and deliveries run detached so one
// slow receiver never holds up the others.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { aesGcmEncrypt, randomNonce } from '../server/wechatpay/crypto';
import { chance, pick, type Faults, type FaultStore } from './faults';
import { requestId, signatureHeaders, type Keyring, type SigningKey } from './http';
import { beijingTime, newNotificationId } from './ids';
import type postgres from 'postgres';
import type { NotificationRow } from './store';
import * as store from './store';

/** Waits after attempt 1, 2, …, 15 fail; a 16th failure gives up. Multiplied by timeScale. */
export const RETRY_SCHEDULE_MS = [
  15_000, 15_000, 30_000, 180_000, 600_000, 1_200_000, 1_800_000, 1_800_000, 1_800_000, 3_600_000, 10_800_000, 10_800_000, 10_800_000, 21_600_000, 21_600_000,
];
export const DELIVERY_TIMEOUT_MS = 5_000;
/** Longer than the delivery timeout, so a live attempt is never claimed twice. */
const CLAIM_LEASE_MS = 30_000;
const MAX_IN_FLIGHT = 32;

export interface NotificationSpec {
  eventType: string;
  summary: string;
  /** `transaction` or `refund`: both the resource's original_type and its associated_data (reference §6.2, §7.3). */
  originalType: 'transaction' | 'refund';
  resource: Record<string, unknown>;
}

/** Builds the §6.2 envelope; the body is fixed across retries (same id), only the signature headers change. */
export function buildNotification(spec: NotificationSpec, apiv3Key: string, now: Date): { id: string; body: string } {
  const nonce = randomNonce(12);
  const id = newNotificationId();
  const envelope = {
    id,
    create_time: beijingTime(now),
    resource_type: 'encrypt-resource',
    event_type: spec.eventType,
    summary: spec.summary,
    resource: {
      original_type: spec.originalType,
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext: aesGcmEncrypt(apiv3Key, nonce, spec.originalType, JSON.stringify(spec.resource)),
      associated_data: spec.originalType,
      nonce,
    },
  };
  return { id, body: JSON.stringify(envelope) };
}

/** The TRANSACTION.SUCCESS envelope of a paid order. */
export function buildTransactionNotification(transaction: Record<string, unknown>, apiv3Key: string, now: Date): { id: string; body: string } {
  return buildNotification({ eventType: 'TRANSACTION.SUCCESS', summary: '支付成功', originalType: 'transaction', resource: transaction }, apiv3Key, now);
}

export interface Notifier {
  /** Run a delivery pass now instead of at the next poll (first attempts go out milliseconds after payment). */
  wake(): void;
  /** Stops polling, aborts in-flight attempts (handing them back uncounted) and waits for them to settle. */
  stop(): Promise<void>;
}

export interface NotifierOptions {
  sql: postgres.Sql;
  /** Deliveries of this merchant only (see store.claimDueNotifications). */
  mchid: string;
  keyring: Keyring;
  faults: FaultStore;
  timeScale: number;
  log: (msg: string) => void;
  pollMs?: number;
  /** Runs on every tick before deliveries are claimed (the refund settler: its notifications go out in the same tick). */
  beforeTick?: () => Promise<void>;
  /**
   * The simulated clock (epoch ms): schedules are kept in simulated time, so moving the clock forward also brings
   * pending retries due. Signatures always carry wall time. Default: wall time.
   */
  now?: () => number;
}

export function startNotifier({ sql, mchid, keyring, faults, timeScale, log, pollMs = 50, beforeTick, now = Date.now }: NotifierOptions): Notifier {
  const inFlight = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Duplicate copies are fire-and-forget, but stop() still waits for them. */
  const extras = new Set<Promise<void>>();
  const stopController = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let again = false;
  let stopped = false;
  let lastClaimError: string | null = null;

  function schedule(delay: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  }

  function run(): void {
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    tick()
      .then(() => {
        if (lastClaimError) log('notifier: database reachable again');
        lastClaimError = null;
      })
      .catch((err: unknown) => {
        // Polling runs many times a second: say it once per distinct failure, not on every tick.
        const message = (err as Error).message;
        if (message !== lastClaimError) log(`notifier: claim failed: ${message}`);
        lastClaimError = message;
      })
      .finally(() => {
        ticking = false;
        const rerun = again;
        again = false;
        schedule(rerun ? 0 : pollMs);
      });
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    if (beforeTick) await beforeTick();
    const room = MAX_IN_FLIGHT - inFlight.size;
    if (room <= 0 || stopped) return;
    const current = await faults.get();
    const claimed = await store.claimDueNotifications(sql, mchid, new Date(now()), CLAIM_LEASE_MS, room);
    if (claimed.length === room) again = true;
    // notifyReorder: what falls due together goes out in random order (deliveries then race each other too).
    if (current.notifyReorder) shuffle(claimed);
    for (const row of claimed) {
      // Moving the simulated clock can expire a lease while its attempt is still in flight here: that attempt
      // records its own outcome, so the row is not sent twice.
      if (inFlight.has(row.id)) continue;
      if (stopped) {
        await store.releaseClaim(sql, row.id, new Date(now()));
        continue;
      }
      const controller = new AbortController();
      const done = attempt(row, current, controller.signal).finally(() => inFlight.delete(row.id));
      inFlight.set(row.id, { controller, done });
    }
  }

  async function attempt(row: NotificationRow, f: Faults, signal: AbortSignal): Promise<void> {
    const number = row.attempts + 1;
    // WeChat resends a notification whose probe was refused with a real signature (reference §2.4).
    const probe = !row.last_probe && chance(f.probeSignatureRate);
    const signer = keyring.forNotification(f.keyMode);
    const dropped = chance(f.notifyDropRate);
    const sentAt = Date.now();
    const sentAtSim = now();
    const result: PostResult = dropped
      ? { status: null, error: 'dropped (fault injection)' }
      : await post(row.notify_url, row.body, notificationHeaders(signer, row.body, probe), signal);
    const latency = dropped ? null : Date.now() - sentAt;
    const at = new Date(now());
    try {
      if (signal.aborted) {
        await store.releaseClaim(sql, row.id, at);
        return;
      }
      const delivered = result.status !== null && result.status >= 200 && result.status < 300;
      const wait = RETRY_SCHEDULE_MS[number - 1];
      const status = delivered ? 'delivered' : wait === undefined ? 'failed' : 'pending';
      const waitMs = wait ?? 0;
      // A drop is a lost packet: WeChat saw no answer and retries on its normal schedule.
      const nextDelayMs = status === 'pending' ? pick(f.notifyDelayMs) : 0;
      const nextAttemptAt = status === 'pending' ? new Date(at.getTime() + waitMs * timeScale + nextDelayMs) : null;
      await store.recordAttempt(
        sql,
        row,
        { at, httpStatus: result.status, error: result.error, status, nextAttemptAt, nextDelayMs, probe },
        {
          number,
          at: new Date(sentAtSim),
          http_status: result.status,
          latency_ms: latency,
          error: result.error,
          dropped,
          probe,
          duplicate: false,
          delayed_ms: row.pending_delay_ms,
          serial: signer.serial,
        },
      );
      log(
        `notify ${row.event_type} ${row.out_trade_no} attempt ${number}${dropped ? ' (dropped)' : probe ? ' (probe)' : ''} → ` +
          `${result.status ?? result.error}` +
          (status === 'pending' ? `, retry in ${Math.round(waitMs * timeScale + nextDelayMs)} ms` : ` (${status})`),
      );
      if (!dropped && chance(f.notifyDuplicateRate)) sendDuplicate(row, number, f);
    } catch (err) {
      // The lease expires and the attempt is retried; nothing is lost.
      log(`notifier: could not record attempt for ${row.id}: ${(err as Error).message}`);
    }
  }

  /** The same notification once more (same id and body, fresh signature), as WeChat sometimes does. */
  function sendDuplicate(row: NotificationRow, number: number, f: Faults): void {
    const delay = pick(f.notifyDelayMs);
    const task = (async () => {
      if (delay > 0) await sleep(delay, stopController.signal);
      if (stopped) return;
      const signer = keyring.forNotification(f.keyMode);
      const sentAt = Date.now();
      const sentAtSim = now();
      const result = await post(row.notify_url, row.body, notificationHeaders(signer, row.body, false), stopController.signal);
      if (stopController.signal.aborted) return;
      await store
        .insertAttemptLog(sql, row, {
          number,
          at: new Date(sentAtSim),
          http_status: result.status,
          latency_ms: Date.now() - sentAt,
          error: result.error,
          dropped: false,
          probe: false,
          duplicate: true,
          delayed_ms: delay,
          serial: signer.serial,
        })
        .catch((err: unknown) => log(`notifier: could not log duplicate of ${row.id}: ${(err as Error).message}`));
    })();
    extras.add(task);
    void task.finally(() => extras.delete(task));
  }

  schedule(0);
  return {
    wake() {
      if (ticking) again = true;
      else schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      stopController.abort();
      for (const { controller } of inFlight.values()) controller.abort();
      await Promise.all([...inFlight.values()].map((f) => f.done));
      // A tick may be between claim and dispatch; wait for it so no claim is left hanging until its lease expires.
      while (ticking) await new Promise((r) => setTimeout(r, 5));
      await Promise.all([...inFlight.values()].map((f) => f.done));
      await Promise.all([...extras]);
    },
  };
}

function notificationHeaders(signer: SigningKey, body: string, probe: boolean): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    Accept: '*/*',
    'User-Agent': 'Mozilla/4.0',
    'Request-ID': requestId(0),
    ...signatureHeaders(signer, body, Date.now(), probe),
  };
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

interface PostResult {
  status: number | null;
  error: string | null;
}

/** One POST with a hard overall deadline; never rejects. */
function post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(result);
    };
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    let req: ReturnType<typeof httpRequest>;
    try {
      req = send(url, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        agent: false,
        signal,
      });
    } catch (err) {
      resolve({ status: null, error: (err as Error).message });
      return;
    }
    deadline = setTimeout(() => req.destroy(new Error('timeout after 5 s')), DELIVERY_TIMEOUT_MS);
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => finish({ status: res.statusCode ?? null, error: null }));
      res.on('error', () => finish({ status: res.statusCode ?? null, error: null }));
    });
    req.on('error', (err) => finish({ status: null, error: err.message }));
    req.end(body);
  });
}
