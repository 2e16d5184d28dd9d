// The webhooks' watchlist: an enabled endpoint that has failed every attempt for a while (failing_since is
// set by the first failure after a success and cleared by the next success). An endpoint disabled after
// days of failures has an alert of its own (deliveries.ts), so disabled and deleted ones are left out.
import { sql } from 'drizzle-orm';
import type { WatchRule } from '@/server/monitoring/watchlists';

export const endpointFailing: WatchRule = {
  name: 'webhook_endpoint_failing',
  async find(tx, ctx) {
    const since = new Date(ctx.now.getTime() - ctx.thresholds.endpointFailingMinutes * 60_000).toISOString();
    const rows = (await tx.execute(sql`
      select e.id, e.url, e.failing_since, a.response_status, a.error
      from webhook_endpoints e
      left join lateral (select response_status, error from webhook_attempts w where w.endpoint_id = e.id order by w.id desc limit 1) a on true
      where e.deleted_at is null and e.disabled_at is null and e.failing_since < ${since}::timestamptz
      order by e.failing_since`)) as unknown as { id: string; url: string; failing_since: string; response_status: number | null; error: string | null }[];
    return rows.map((r) => {
      const last = r.error ?? (r.response_status === null ? null : `HTTP ${r.response_status}`);
      return {
        key: `webhook_endpoint_failing:${r.id}`,
        kind: 'watch.webhook_endpoint_failing',
        message: `Webhook endpoint ${r.url} has failed every delivery for over ${ctx.thresholds.endpointFailingMinutes} minutes${last ? ` (last: ${last})` : ''}`,
        data: { endpointId: r.id, url: r.url, failingSince: new Date(r.failing_since).toISOString(), lastStatus: r.response_status, lastError: r.error },
      };
    });
  },
};
