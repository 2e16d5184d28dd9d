// Notify ingestion (DESIGN §2.3): verify over the raw bytes, decrypt, then store the notification in the
// inbox and enqueue its processing in ONE transaction, and answer. Nothing slow happens before the answer:
// the real work is the worker's. The route handler is a thin wrapper around this function.
import { sql } from 'drizzle-orm';
import { getDb, type Db } from '@/db/client';
import { wechatpayNotificationRejects, wechatpayNotifications } from '@/db/schema';
import { causeId } from '@/server/jobs/ids';
import { enqueue } from '@/server/jobs/boss';
import { QUEUE } from '@/server/jobs/catalogue';
import { parseNotification } from '@/server/wechatpay/notification';
import { getGateway, type Gateway } from './gateway';

export const MAX_NOTIFY_BODY_BYTES = 64 * 1024;

export type IngestOutcome = 'accepted' | 'duplicate' | 'rejected' | 'too_large' | 'unavailable';

/** What to answer WeChat: the status decides (any 2xx = received); failures carry {"code":"FAIL",...}. */
export interface NotifyAnswer {
  status: number;
  body: string | null;
  outcome: IngestOutcome;
}

function failure(status: number, message: string, outcome: IngestOutcome): NotifyAnswer {
  return { status, body: JSON.stringify({ code: 'FAIL', message }), outcome };
}

/** Reads at most `limit` bytes of a Web request body; null when it is larger (never buffers an unbounded body). */
async function readCappedBody(req: Request, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > limit) return null;
  if (!req.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

// Rejections are logged at most once per second per reason, so a flood of forgeries cannot flood the log.
const lastLogged = new Map<string, number>();
function logReject(reason: string): void {
  const now = Date.now();
  if (now - (lastLogged.get(reason) ?? 0) < 1000) return;
  lastLogged.set(reason, now);
  console.warn(`[notify] rejected notification: ${reason}`);
}

export interface IngestDeps {
  db?: Db;
  gateway?: Gateway;
  now?: number;
}

/** The Next route handler's entry: a Web Request in, a Web Response out. */
export async function ingestNotification(req: Request, deps: IngestDeps = {}): Promise<{ response: Response; outcome: IngestOutcome }> {
  const body = await readCappedBody(req, MAX_NOTIFY_BODY_BYTES);
  const answer = body === null ? failure(413, 'body too large', 'too_large') : await ingestNotificationBytes(req.headers, body, deps);
  const response = new Response(answer.body, {
    status: answer.status,
    headers: answer.body ? { 'content-type': 'application/json' } : undefined,
  });
  return { response, outcome: answer.outcome };
}

/**
 * The whole ingestion over headers and the exact body bytes, independent of the HTTP framework: the Next
 * route and the production server's fast path (server/payments/notify-node.ts) both call it.
 */
export async function ingestNotificationBytes(
  headers: { get(name: string): string | null },
  body: Buffer,
  deps: IngestDeps = {},
): Promise<NotifyAnswer> {
  const db = deps.db ?? getDb();
  const gateway = deps.gateway ?? getGateway();

  const contentType = headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(contentType)) {
    logReject('unsupported_content_type');
    await recordReject(db, headers, body, 'unsupported_content_type', contentType.slice(0, 100));
    return failure(415, 'content type must be application/json', 'rejected');
  }

  const parsed = parseNotification({ headers, body, verifier: gateway.verifier, apiv3Key: gateway.apiv3Key, now: deps.now });
  if (!parsed.ok) {
    logReject(parsed.reason);
    await recordReject(db, headers, body, parsed.reason, parsed.detail);
    return failure(401, `notification rejected: ${parsed.reason}`, 'rejected');
  }

  const { envelope } = parsed;
  try {
    const duplicate = await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(wechatpayNotifications)
        .values({
          notificationId: envelope.id,
          eventType: envelope.event_type,
          resourceType: envelope.resource_type ?? 'encrypt-resource',
          summary: envelope.summary ?? null,
          createTime: envelope.create_time ?? null,
          serial: parsed.serial,
          resource: parsed.resource as object,
        })
        .onConflictDoUpdate({
          target: wechatpayNotifications.notificationId,
          set: { deliveries: sql`${wechatpayNotifications.deliveries} + 1`, lastReceivedAt: sql`now()` },
        })
        // xmax = 0 only for a freshly inserted row: tells a first delivery from a redelivery in one round trip.
        .returning({ id: wechatpayNotifications.id, inserted: sql<boolean>`(xmax = 0)` });
      if (row.inserted) {
        await enqueue(tx, QUEUE.processNotification, { version: 1, inboxId: row.id }, { id: causeId('notification', envelope.id) });
      }
      return !row.inserted;
    });
    return { status: 204, body: null, outcome: duplicate ? 'duplicate' : 'accepted' };
  } catch (err) {
    // Not stored means not acknowledged: a 5xx makes WeChat deliver it again later.
    console.error('[notify] could not store notification:', err instanceof Error ? err.message : err);
    return failure(503, 'temporarily unavailable', 'unavailable');
  }
}

/** Evidence for the merchant; best effort: a database hiccup must not turn a 4xx into a 5xx. */
async function recordReject(db: Db, headers: { get(name: string): string | null }, body: Buffer, reason: string, detail?: string): Promise<void> {
  let notificationId: string | null = null;
  try {
    notificationId = String(JSON.parse(body.toString('utf8'))?.id ?? '').slice(0, 64) || null;
  } catch {}
  await db
    .insert(wechatpayNotificationRejects)
    .values({
      reason,
      detail: detail?.slice(0, 500) ?? null,
      serial: headers.get('wechatpay-serial')?.slice(0, 64) ?? null,
      notificationId,
      bodyBytes: body.length,
    })
    .catch(() => {});
}
