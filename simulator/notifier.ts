// Payment notifications: the §6.2 envelope with an AES-GCM resource, POSTed with fresh signature headers on
// every attempt, retried on WeChat's 24h4m schedule (reference §6.5). Deliveries live in Postgres, so a
// restart resumes them; a small poll loop claims due rows with SKIP LOCKED, and deliveries run detached so one
// slow receiver never holds up the others.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { aesGcmEncrypt, randomNonce } from '../server/wechatpay/crypto';
import { requestId, signatureHeaders, type Keyring } from './http';
import { beijingTime, newNotificationId } from './ids';
import type postgres from 'postgres';
import type { NotificationRow } from './store';
import * as store from './store';

/** Waits after attempt 1, 2, …, 15 fail; a 16th failure gives up. Multiplied by timeScale. */
export const RETRY_SCHEDULE_MS = [
  15_000, 15_000, 30_000, 180_000, 600_000, 1_200_000, 1_800_000, 1_800_000, 1_800_000, 3_600_000, 10_800_000, 10_800_000,
  10_800_000, 21_600_000, 21_600_000,
];
export const DELIVERY_TIMEOUT_MS = 5_000;
/** Longer than the delivery timeout, so a live attempt is never claimed twice. */
const CLAIM_LEASE_MS = 30_000;
const MAX_IN_FLIGHT = 32;

/** Builds the TRANSACTION.SUCCESS envelope; the body is fixed across retries, only the headers change. */
export function buildTransactionNotification(
  transaction: Record<string, unknown>,
  apiv3Key: string,
  now: Date,
): { id: string; body: string } {
  const nonce = randomNonce(12);
  const id = newNotificationId();
  const envelope = {
    id,
    create_time: beijingTime(now),
    resource_type: 'encrypt-resource',
    event_type: 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: {
      original_type: 'transaction',
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext: aesGcmEncrypt(apiv3Key, nonce, 'transaction', JSON.stringify(transaction)),
      associated_data: 'transaction',
      nonce,
    },
  };
  return { id, body: JSON.stringify(envelope) };
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
  timeScale: number;
  log: (msg: string) => void;
  pollMs?: number;
}

export function startNotifier({ sql, mchid, keyring, timeScale, log, pollMs = 100 }: NotifierOptions): Notifier {
  const inFlight = new Map<string, { controller: AbortController; done: Promise<void> }>();
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
        // Polling runs ten times a second: say it once per distinct failure, not on every tick.
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
    const room = MAX_IN_FLIGHT - inFlight.size;
    if (room <= 0 || stopped) return;
    const claimed = await store.claimDueNotifications(sql, mchid, new Date(), CLAIM_LEASE_MS, room);
    if (claimed.length === room) again = true;
    for (const row of claimed) {
      if (stopped) {
        await store.releaseClaim(sql, row.id, new Date());
        continue;
      }
      const controller = new AbortController();
      const done = attempt(row, controller.signal).finally(() => inFlight.delete(row.id));
      inFlight.set(row.id, { controller, done });
    }
  }

  async function attempt(row: NotificationRow, signal: AbortSignal): Promise<void> {
    const headers = {
      'Content-Type': 'application/json',
      Accept: '*/*',
      'User-Agent': 'Mozilla/4.0',
      'Request-ID': requestId(0),
      ...signatureHeaders(keyring.publicKey, row.body),
    };
    const result = await post(row.notify_url, row.body, headers, signal);
    const at = new Date();
    try {
      if (signal.aborted) {
        await store.releaseClaim(sql, row.id, at);
        return;
      }
      const attempts = row.attempts + 1;
      const delivered = result.status !== null && result.status >= 200 && result.status < 300;
      const wait = RETRY_SCHEDULE_MS[attempts - 1];
      const status = delivered ? 'delivered' : wait === undefined ? 'failed' : 'pending';
      const nextAttemptAt = status === 'pending' ? new Date(at.getTime() + wait * timeScale) : null;
      await store.recordAttempt(sql, row.id, { at, httpStatus: result.status, error: result.error, status, nextAttemptAt });
      log(
        `notify ${row.event_type} ${row.out_trade_no} attempt ${attempts} → ${result.status ?? result.error}` +
          (status === 'pending' ? `, retry in ${Math.round(wait * timeScale)} ms` : ` (${status})`),
      );
    } catch (err) {
      // The lease expires and the attempt is retried; nothing is lost.
      log(`notifier: could not record attempt for ${row.id}: ${(err as Error).message}`);
    }
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
      for (const { controller } of inFlight.values()) controller.abort();
      await Promise.all([...inFlight.values()].map((f) => f.done));
      // A tick may be between claim and dispatch; wait for it so no claim is left hanging until its lease expires.
      while (ticking) await new Promise((r) => setTimeout(r, 5));
      await Promise.all([...inFlight.values()].map((f) => f.done));
    },
  };
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
