// Notify ingestion (DESIGN §2.3): verify over the raw bytes, decrypt, then store the notification in the
// inbox and enqueue its processing in ONE statement, and answer. Nothing slow happens before the answer:
// the real work is the worker's. Both HTTP entries (server/http/) are thin wrappers around
// ingestNotificationBytes, which answers every outcome itself, failures included, in one shape.
import type { Db } from '@/db/client';
import { log } from '@/server/log';
import { throttled, throttledErrorLog } from '@/server/throttled-log';
import { QUEUE } from '@/server/queue/catalogue';
import { causeId } from '@/server/queue/ids';
import { jobInsertSql } from '@/server/queue/insert-job';
import { wakeAfterCommit } from '@/server/queue/wake';
import { parseNotification } from '@/server/wechatpay/notification';
import type { Gateway } from '@/server/wechatpay/gateway';
import { countReject } from './notification-rejects';

export const MAX_NOTIFY_BODY_BYTES = 64 * 1024;

export type IngestOutcome = 'accepted' | 'duplicate' | 'rejected' | 'too_large' | 'unavailable';

/** What to answer WeChat: the status decides (any 2xx = received); failures carry {"code":"FAIL",...}. */
export interface NotifyAnswer {
  status: number;
  body: string | null;
  outcome: IngestOutcome;
}

/** The one failure shape of both entries. */
export function notifyFailure(status: number, message: string, outcome: IngestOutcome): NotifyAnswer {
  return { status, body: JSON.stringify({ code: 'FAIL', message }), outcome };
}

export const TOO_LARGE: NotifyAnswer = notifyFailure(413, 'body too large', 'too_large');

const logger = () => log('notify');
// A flood of forgeries must not flood the log: each reason once a second, with how many were folded in.
const logReject = throttled(1000, (reason, repeats) => logger().warn({ reason, repeats }, 'rejected notification'));
const logUnavailable = throttledErrorLog(logger(), 'could not store notification: answering 503', 10_000);

export interface IngestDeps {
  db: Db;
  /** Resolved inside the ingestion, so a configuration problem is answered like any other failure. */
  gateway: () => Gateway;
  /** Epoch ms for the timestamp check (tests). */
  now?: number;
}

type Headers = { get(name: string): string | null };

/**
 * The whole ingestion over headers and the exact body bytes, independent of the HTTP framework. Never
 * throws: its dependencies are resolved inside, so a configuration problem is answered like an outage.
 */
export async function ingestNotificationBytes(depsOf: () => IngestDeps, headers: Headers, body: Buffer): Promise<NotifyAnswer> {
  try {
    const deps = depsOf();
    const contentType = headers.get('content-type') ?? '';
    if (!/^application\/json\b/i.test(contentType))
      return await reject(deps, headers, 'unsupported_content_type', 415, 'content type must be application/json');

    const gateway = deps.gateway();
    const parsed = parseNotification({ headers, body, verifier: gateway.verifier, apiv3Key: gateway.apiv3Key, now: deps.now });
    if (!parsed.ok) return await reject(deps, headers, parsed.reason, 401, `notification rejected: ${parsed.reason}`);

    const { envelope } = parsed;
    const rows = await deps.db.$client.unsafe(
      INGEST,
      [
        causeId('notification', envelope.id),
        QUEUE.processNotification,
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
    const accepted = rows[0]?.job_id != null;
    if (accepted) wakeAfterCommit(deps.db.$client, QUEUE.processNotification);
    return { status: 204, body: null, outcome: accepted ? 'accepted' : 'duplicate' };
  } catch (err) {
    // Not stored means not acknowledged: a 5xx makes WeChat deliver it again later. Whatever failed —
    // the database, the gateway's configuration — the answer is the same and reveals nothing.
    logUnavailable(err);
    return notifyFailure(503, 'temporarily unavailable', 'unavailable');
  }
}

async function reject(deps: IngestDeps, headers: Headers, reason: string, status: number, message: string): Promise<NotifyAnswer> {
  logReject(reason);
  await countReject(deps.db, reason, headers.get('wechatpay-serial'));
  return notifyFailure(status, message, 'rejected');
}

// The inbox row and its processing job in ONE statement (one statement is one transaction, so this is
// still "inbox + enqueue atomically", DESIGN §2.3), in one round trip instead of four. The job's payload
// ({ version: 1, inboxId }, the catalogue's schema) takes the id of the row just inserted; a redelivery
// finds the row, counts the delivery and inserts no job. The wake-up follows the commit (queue/wake.ts).
/** Exported for the benchmark's database-ceiling row (pgbench runs this very statement). */
export const INGEST = `
  with inbox as (
    insert into wechatpay_notifications (notification_id, event_type, resource_type, summary, create_time, serial, resource)
    values ($3, $4, $5, $6, $7, $8, $9::text::jsonb)
    on conflict (notification_id) do update
      set deliveries = wechatpay_notifications.deliveries + 1, last_received_at = now()
    returning id, (xmax = 0) as inserted
  ), job as (${jobInsertSql(`select $1::uuid as id, jsonb_build_object('version', 1, 'inboxId', inbox.id) as data, null::timestamptz as start_after from inbox where inbox.inserted`, '$2')})
  -- one row: the job's id (null for a redelivery); a first delivery that wrote no job (its queue missing)
  -- fails the whole statement by division by zero, so no inbox row is ever stored without its job
  select (select id from job) as job_id,
         1 / (case when (select count(*) from job) = (select count(*) from inbox where inbox.inserted) then 1 else 0 end) as guard`;
