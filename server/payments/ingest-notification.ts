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

function failure(status: number, message: string): Response {
  // WeChat reads the status first; the body is the documented {"code":"FAIL",...} shape.
  return Response.json({ code: 'FAIL', message }, { status });
}

/** Reads at most `limit` bytes; returns null when the body is larger (never buffers an unbounded body). */
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

export async function ingestNotification(
  req: Request,
  deps: { db?: Db; gateway?: Gateway; now?: number } = {},
): Promise<{ response: Response; outcome: IngestOutcome }> {
  const body = await readCappedBody(req, MAX_NOTIFY_BODY_BYTES);
  if (body === null) return { response: failure(413, 'body too large'), outcome: 'too_large' };

  const db = deps.db ?? getDb();
  const gateway = deps.gateway ?? getGateway();
  const parsed = parseNotification({
    headers: req.headers,
    body,
    verifier: gateway.verifier,
    apiv3Key: gateway.apiv3Key,
    now: deps.now,
  });

  if (!parsed.ok) {
    logReject(parsed.reason);
    // Evidence for the merchant; best effort, a database hiccup must not turn a 401 into a 500.
    await db
      .insert(wechatpayNotificationRejects)
      .values({
        reason: parsed.reason,
        detail: parsed.detail?.slice(0, 500) ?? null,
        serial: req.headers.get('wechatpay-serial')?.slice(0, 64) ?? null,
        bodyBytes: body.length,
      })
      .catch(() => {});
    return { response: failure(401, `notification rejected: ${parsed.reason}`), outcome: 'rejected' };
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
    return { response: new Response(null, { status: 204 }), outcome: duplicate ? 'duplicate' : 'accepted' };
  } catch (err) {
    // Not stored means not acknowledged: a 5xx makes WeChat deliver it again later.
    console.error('[notify] could not store notification:', err instanceof Error ? err.message : err);
    return { response: failure(503, 'temporarily unavailable'), outcome: 'unavailable' };
  }
}
