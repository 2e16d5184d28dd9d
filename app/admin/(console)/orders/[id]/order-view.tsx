'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import Link from 'next/link';
import { useTranslations } from 'next-intl';
import { useTRPC } from '@/app/_trpc/client';
import type { TimelineKind } from '@/server/console/order-detail';
import { BeijingTime, Money } from '../../../_components/time';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Loading } from '../../../_components/ui';
import { RefundDialog } from './refund-dialog';

const KIND_TONE: Record<TimelineKind, 'blue' | 'green' | 'neutral' | 'amber' | 'red'> = {
  event: 'green',
  notification: 'blue',
  job: 'neutral',
  refund: 'amber',
  admin: 'red',
  webhook: 'blue',
};

export function OrderView({
  id,
  canSync,
  canRefund,
  approvalThresholdFen,
}: {
  id: string;
  canSync: boolean;
  canRefund: boolean;
  approvalThresholdFen: number;
}) {
  const t = useTranslations('admin.order');
  const to = useTranslations('admin.orders');
  const ta = useTranslations('admin');
  const tr = useTranslations('refunds.list');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const valid = /^[0-9a-f-]{36}$/i.test(id);
  const detail = useQuery({
    ...trpc.admin.orders.get.queryOptions({ id }),
    enabled: valid,
    retry: (n, e) => !(e instanceof TRPCClientError && e.data?.code === 'NOT_FOUND') && n < 1,
  });
  const sync = useMutation(
    trpc.admin.orders.sync.mutationOptions({ onSettled: () => qc.invalidateQueries({ queryKey: trpc.admin.orders.get.queryKey({ id }) }) }),
  );

  if (!valid || (detail.error instanceof TRPCClientError && detail.error.data?.code === 'NOT_FOUND')) return <EmptyState>{t('notFound')}</EmptyState>;
  if (detail.isPending) return <Loading label={ta('loading')} />;
  if (detail.isError) return <ErrorState message={ta('error')} retry={() => void detail.refetch()} retryLabel={ta('retry')} />;
  const { order, items, attempts, refunds, timeline } = detail.data;

  return (
    <div className="space-y-4">
      <Link href="/admin/orders" className="text-sm text-blue-800 underline">
        ← {t('back')}
      </Link>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="font-mono text-lg font-semibold break-all">{t('heading', { id: order.id })}</h1>
        <div className="flex flex-wrap gap-2">
          {canRefund && (order.status === 'paid' || order.status === 'partially_refunded') ? (
            <RefundDialog orderId={id} approvalThresholdFen={approvalThresholdFen} />
          ) : null}
          {canSync ? (
            <Button onClick={() => sync.mutate({ id })} disabled={sync.isPending} data-testid="sync-now">
              {sync.isPending ? t('syncing') : t('sync')}
            </Button>
          ) : null}
        </div>
      </div>
      {sync.data ? (
        <Alert tone="green" testId="sync-result">
          {t('synced', { result: sync.data.results.map((r) => r.outcome).join(', ') || '—' })}
        </Alert>
      ) : null}
      {sync.isError ? <Alert>{ta('error')}</Alert> : null}

      <div className="grid gap-4 lg:grid-cols-3">
        <Card title={t('summary')} className="lg:col-span-1">
          <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
            <dt className="text-neutral-600">{to('cols.status')}</dt>
            <dd data-testid="order-status">{to(`statuses.${order.status}`)}</dd>
            {order.reviewReason ? (
              <>
                <dt className="text-neutral-600">{t('reviewReason')}</dt>
                <dd>{order.reviewReason}</dd>
              </>
            ) : null}
            <dt className="text-neutral-600">{to('cols.amount')}</dt>
            <dd>
              <Money fen={order.amountFen} />
            </dd>
            <dt className="text-neutral-600">{to('cols.refunded')}</dt>
            <dd>
              <Money fen={order.refundedFen} />
            </dd>
            <dt className="text-neutral-600">{to('cols.net')}</dt>
            <dd>
              <Money fen={order.netFen} />
            </dd>
            <dt className="text-neutral-600">{to('cols.via')}</dt>
            <dd>{order.paidVia ? to(`via.${order.paidVia}`) : '—'}</dd>
            <dt className="text-neutral-600">{to('cols.created')}</dt>
            <dd>
              <BeijingTime value={order.createdAt} withLabel />
            </dd>
            <dt className="text-neutral-600">{to('cols.paid')}</dt>
            <dd>
              <BeijingTime value={order.paidAt} withLabel />
            </dd>
            <dt className="text-neutral-600">{to('cols.transactionId')}</dt>
            <dd className="font-mono text-xs break-all">{order.transactionId ?? '—'}</dd>
            <dt className="text-neutral-600">{to('cols.description')}</dt>
            <dd>{order.description}</dd>
          </dl>
          <h3 className="mt-4 mb-1 text-sm font-semibold">{t('items')}</h3>
          <ul className="text-sm">
            {items.map((i) => (
              <li key={i.id} className="flex justify-between gap-2">
                <span>
                  {i.name} × {i.quantity}
                </span>
                <Money fen={i.unitPriceFen * i.quantity} />
              </li>
            ))}
          </ul>
        </Card>

        <Card title={t('attempts')} className="lg:col-span-2">
          <ul className="space-y-2 text-sm" data-testid="attempts">
            {attempts.map((a) => (
              <li key={a.id} className="rounded border border-neutral-200 p-2">
                <div className="flex flex-wrap items-center gap-2">
                  <span className="font-mono text-xs break-all">{a.outTradeNo}</span>
                  <Badge tone={a.qr === 'live' ? 'green' : a.qr === 'paid' ? 'blue' : 'neutral'}>
                    {t('qr')}: {t(`qrStates.${a.qr}`)}
                  </Badge>
                  {a.latePayment ? <Badge tone="red">{to(`flagNames.${a.latePayment === 'after_close' ? 'late' : 'double'}`)}</Badge> : null}
                </div>
                <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1 text-xs text-neutral-600">
                  <span>
                    <Money fen={a.amountFen} />
                  </span>
                  <span>
                    {t('expires')}: <BeijingTime value={a.expiresAt} withLabel />
                  </span>
                  <span>
                    {t('lastChecked')}: <BeijingTime value={a.lastCheckedAt} />
                  </span>
                  {a.transactionId ? <span className="font-mono">{a.transactionId}</span> : null}
                </div>
              </li>
            ))}
          </ul>
          <h3 className="mt-4 mb-1 text-sm font-semibold">{t('refunds')}</h3>
          {refunds.length === 0 ? (
            <p className="text-sm text-neutral-600">{t('noRefunds')}</p>
          ) : (
            <ul className="text-sm" data-testid="order-refunds">
              {refunds.map((r) => (
                <li key={r.id} className="flex flex-wrap gap-2" data-testid="order-refund" data-status={r.status}>
                  <span className="font-mono text-xs">{r.outRefundNo}</span>
                  <Money fen={r.amountFen} />
                  <Badge
                    tone={r.status === 'succeeded' ? 'green' : r.status === 'abnormal' || r.status === 'closed' || r.status === 'failed' ? 'red' : 'amber'}
                  >
                    {tr(`statuses.${r.status}`)}
                  </Badge>
                  <span className="text-xs text-neutral-600">{tr(`initiators.${r.initiatedBy as 'merchant' | 'api' | 'system' | 'bill'}`)}</span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>

      <Card title={`${t('timeline')} (${ta('beijingTime')})`}>
        {timeline.length === 0 ? (
          <EmptyState>{t('noTimeline')}</EmptyState>
        ) : (
          <ol className="space-y-2" data-testid="timeline">
            {timeline.map((e, i) => (
              <li key={i} className="border-l-2 border-neutral-200 pl-3" data-testid="timeline-entry" data-kind={e.kind} data-source={e.source}>
                <div className="flex flex-wrap items-center gap-2 text-sm">
                  <BeijingTime value={e.at} />
                  <Badge tone={KIND_TONE[e.kind]}>{t(`kinds.${e.kind}`)}</Badge>
                  <span className="font-medium">{e.title}</span>
                  <span className="text-xs text-neutral-600">
                    {t('source')}: {e.source}
                    {e.actor ? ` · ${t('actor')}: ${e.actor}` : ''}
                  </span>
                </div>
                <details className="mt-1">
                  <summary className="cursor-pointer text-xs text-neutral-600">{t('details')}</summary>
                  <pre className="mt-1 max-h-64 overflow-auto rounded bg-neutral-50 p-2 text-xs whitespace-pre-wrap break-all">
                    {JSON.stringify(e.detail, null, 2)}
                  </pre>
                </details>
              </li>
            ))}
          </ol>
        )}
      </Card>
    </div>
  );
}
