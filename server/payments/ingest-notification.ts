// Notify ingestion (DESIGN §2.3): verify over the raw bytes, decrypt, then store the notification in the
// inbox and enqueue its processing in ONE transaction, and answer. Nothing slow happens before the answer:
// the real work is the worker's. The route handler is a thin wrapper around this function.
import { getDb, type Db } from '@/db/client';
import { wechatpayNotificationRejects, wechatpayNotifications } from '@/db/schema';
import { causeId } from '@/server/jobs/ids';
import { planEnqueue } from '@/server/jobs/boss';
import { QUEUE } from '@/server/jobs/catalogue';
import { wakeAfterCommit } from '@/server/jobs/wake';
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
 * route and the production server's fast path (server/http/notify-node.ts) both call it.
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
    const planned = await planEnqueue(QUEUE.processNotification, { version: 1, inboxId: 1 }, { id: causeId('notification', envelope.id) });
    const statement = foldIngestStatement(planned.text);
    const rows = await db.$client.unsafe(
      statement.text,
      [
        planned.jobsJson,
        envelope.id,
        envelope.event_type,
        envelope.resource_type ?? 'encrypt-resource',
        envelope.summary ?? null,
        envelope.create_time ?? null,
        parsed.serial,
        JSON.stringify(parsed.resource),
      ],
      { prepare: true },
    );
    // A job was created only for a first delivery; a redelivery just counted itself on the inbox row.
    const accepted = rows.length === 1;
    if (accepted && statement.wake) wakeAfterCommit(db.$client, statement.wake);
    return { status: 204, body: null, outcome: accepted ? 'accepted' : 'duplicate' };
  } catch (err) {
    // Not stored means not acknowledged: a 5xx makes WeChat deliver it again later.
    console.error('[notify] could not store notification:', err instanceof Error ? err.message : err);
    return failure(503, 'temporarily unavailable', 'unavailable');
  }
}

// The inbox row and its processing job in ONE statement: pg-boss's own job INSERT (planEnqueue) with the
// inbox insert as a CTE in front, the job's inboxId taken from the row just inserted. One statement is
// one transaction, so this is still "inbox + enqueue atomically" (DESIGN §2.3), in one round trip instead
// of four (BEGIN, insert, enqueue, COMMIT): each round trip costs the web process about 0.1 ms of CPU
// here (docs/benchmarks.md). A redelivery finds the row, counts the delivery and inserts no job.
// pg-boss's NOTIFY is taken out of the statement and sent after the commit (server/jobs/wake.ts).
const INBOX_CTE = `inbox as (
    insert into wechatpay_notifications (notification_id, event_type, resource_type, summary, create_time, serial, resource)
    values ($2, $3, $4, $5, $6, $7, $8::text::jsonb)
    on conflict (notification_id) do update
      set deliveries = wechatpay_notifications.deliveries + 1, last_received_at = now()
    returning id, (xmax = 0) as inserted)`;

// pg-boss's job rows ($1) with data.inboxId set to the new row's id; no rows for a redelivery.
const JOB_ROWS = `(select json_agg(jsonb_set(j, '{data,inboxId}', to_jsonb(inbox.id)))
    from inbox, jsonb_array_elements($1::text::jsonb) j where inbox.inserted)`;

const PG_BOSS_JOBS_PARAM = '$1::text::json';

// pg-boss's notify variant ends: `), notified AS (SELECT pg_notify(<channel>, '<queue>') FROM ins WHERE
// start_after <= <schema>.job_now() LIMIT 1) SELECT id FROM ins WHERE (SELECT count(*) FROM notified) >= 0`.
const NOTIFY_TAIL =
  /,\s*notified\s+AS\s*\(\s*SELECT\s+(pg_notify\([\s\S]*?\))\s+FROM\s+ins\s+WHERE\s[\s\S]*?\bLIMIT\s+1\s*\)\s*SELECT\s+id\s+FROM\s+ins\s+WHERE\s+\(\s*SELECT\s+count\(\*\)\s+FROM\s+notified\s*\)\s*>=\s*0\s*$/i;

export interface IngestStatement {
  /** The inbox insert and the job insert, one statement, no NOTIFY. */
  text: string;
  /** pg-boss's wake-up for the queue's workers, to send after the commit; null if pg-boss sent none. */
  wake: string | null;
}

const folded = new Map<string, IngestStatement>();

/**
 * pg-boss's INSERT for a notification job, folded into the ingestion statement. pg-boss builds the same
 * text for every job of a queue, so this is computed once (and Postgres prepares it once per connection).
 * Throws if a pg-boss upgrade changed the statement's shape: tests catch that, not production.
 */
export function foldIngestStatement(bossSql: string): IngestStatement {
  const cached = folded.get(bossSql);
  if (cached) return cached;
  if ((bossSql.match(/\$\d+/g) ?? []).length !== 1 || !bossSql.includes(PG_BOSS_JOBS_PARAM)) {
    throw new Error('pg-boss insert has an unexpected shape: cannot fold it into the notify ingestion');
  }
  let body = bossSql.replace(PG_BOSS_JOBS_PARAM, `${JOB_ROWS}::json`);
  let wake: string | null = null;
  const tail = NOTIFY_TAIL.exec(body);
  if (tail) {
    // The wake-up needs no flush to disk: if it is lost, the job is there and the worker polls.
    wake = `select set_config('synchronous_commit', 'off', true), ${tail[1]}`;
    body = `${body.slice(0, tail.index)}\n    SELECT id FROM ins`;
  } else if (/pg_notify/i.test(body)) {
    throw new Error('pg-boss insert has an unexpected shape: cannot move its NOTIFY out of the notify ingestion');
  }
  const text = /^\s*with\s/i.test(body)
    ? body.replace(/^\s*with\s/i, `with ${INBOX_CTE},\n`) // the notify variant: WITH ins AS (...) SELECT id FROM ins
    : `with ${INBOX_CTE}, ins as (${body}) select id from ins`;
  const statement = { text, wake };
  folded.set(bossSql, statement);
  return statement;
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
