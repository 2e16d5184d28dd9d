'use client';
// The dashboard's two operations cards: outbound webhook delivery per endpoint (last 24 h) and the latest
// reconciled days. Tables are the primary form (screen readers read them as they are); the bars beside
// the success rates are decoration, hidden from assistive technology.
import { useQuery } from '@tanstack/react-query';
import { useFormatter, useTranslations } from 'next-intl';
import Link from 'next/link';
import { useTRPC } from '@/app/_trpc/client';
import { BeijingTime } from '../../_components/time';
import { Badge, Card, EmptyState, ErrorState, Loading, ScrollRegion } from '../../_components/ui';

function useFigures() {
  const t = useTranslations('monitoring.dashboard');
  const format = useFormatter();
  return {
    t,
    pct: (v: number | null) => (v == null ? '—' : format.number(v, { style: 'percent', maximumFractionDigits: 1 })),
    num: (v: number) => format.number(v),
  };
}

export function DeliveryHealthCard() {
  const { t, pct, num } = useFigures();
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.admin.stats.deliveryHealth.queryOptions(), refetchInterval: 60_000 });
  return (
    <Card title={t('deliveryHeading')}>
      {q.isPending ? (
        <Loading label={ta('loading')} />
      ) : q.isError ? (
        <ErrorState message={q.error.message || ta('error')} retry={() => void q.refetch()} retryLabel={ta('retry')} />
      ) : !q.data.length ? (
        <EmptyState>{t('deliveryEmpty')}</EmptyState>
      ) : (
        <ScrollRegion label={t('deliveryTable')}>
          <table className="w-full text-left text-sm" data-testid="delivery-table">
            <caption className="sr-only">{t('deliveryTable')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('endpoint')}</th>
                <th scope="col">{t('successRate')}</th>
                <th scope="col">{t('attempts')}</th>
                <th scope="col">{t('p95Latency')}</th>
                <th scope="col">{t('lastError')}</th>
              </tr>
            </thead>
            <tbody>
              {q.data.map((e) => (
                <tr key={e.id} className="border-t border-neutral-100 align-top">
                  <th scope="row" className="max-w-56 font-normal break-all">
                    {e.url} {e.disabled ? <Badge tone="neutral">{t('disabled')}</Badge> : e.failingSince ? <Badge tone="red">{t('failing')}</Badge> : null}
                  </th>
                  <td className="whitespace-nowrap">
                    <span
                      className="inline-block h-2 rounded bg-green-700 align-middle"
                      style={{ width: `${Math.round(40 * (e.successRate24h ?? 0))}px` }}
                      aria-hidden="true"
                    />{' '}
                    {pct(e.successRate24h)}
                  </td>
                  <td>{num(e.attempts24h)}</td>
                  <td className="whitespace-nowrap">{e.p95LatencyMs24h == null ? '—' : `${num(e.p95LatencyMs24h)} ms`}</td>
                  <td className="min-w-40">
                    {e.lastError ? (
                      <>
                        <BeijingTime value={e.lastError.at} />: {e.lastError.error ?? `HTTP ${e.lastError.status}`}
                      </>
                    ) : (
                      t('noError')
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
    </Card>
  );
}

const STATUS_TONE: Record<string, 'green' | 'amber' | 'red' | 'neutral'> = { reconciled: 'green', provisional: 'amber', pending: 'neutral', failed: 'red' };
const STATUSES = ['pending', 'provisional', 'reconciled', 'failed'] as const;

export function ReconciliationStatusCard() {
  const { t, num } = useFigures();
  const ta = useTranslations('admin');
  const format = useFormatter();
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.admin.stats.reconciliationStatus.queryOptions(), refetchInterval: 60_000 });
  const status = (s: string) => ((STATUSES as readonly string[]).includes(s) ? t(`day_${s as (typeof STATUSES)[number]}`) : s);
  return (
    <Card title={t('reconciliationHeading')}>
      {q.isPending ? (
        <Loading label={ta('loading')} />
      ) : q.isError ? (
        <ErrorState message={q.error.message || ta('error')} retry={() => void q.refetch()} retryLabel={ta('retry')} />
      ) : (
        <>
          <p className="mb-2 text-sm" data-testid="open-discrepancies">
            {t('openDiscrepancies', { count: q.data.openDiscrepancies })}{' '}
            <Link className="text-blue-800 underline" href="/admin/reconciliation">
              {t('toReconciliation')}
            </Link>
          </p>
          {!q.data.days.length ? (
            <EmptyState>{t('reconciliationEmpty')}</EmptyState>
          ) : (
            <ScrollRegion label={t('reconciliationTable')}>
              <table className="w-full text-left text-sm" data-testid="reconciliation-table">
                <caption className="sr-only">{t('reconciliationTable')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('billDate')}</th>
                    <th scope="col">{t('dayStatus')}</th>
                    <th scope="col">{t('matched')}</th>
                    <th scope="col">{t('openCol')}</th>
                  </tr>
                </thead>
                <tbody>
                  {q.data.days.map((d) => (
                    <tr key={d.billDate} className="border-t border-neutral-100">
                      <th scope="row" className="font-normal whitespace-nowrap">
                        {d.billDate}
                      </th>
                      <td>
                        <Badge tone={STATUS_TONE[d.status] ?? 'neutral'}>{status(d.status)}</Badge>
                      </td>
                      <td>{d.matchedPercent == null ? '—' : format.number(d.matchedPercent / 100, { style: 'percent', maximumFractionDigits: 2 })}</td>
                      <td>{num(d.openDiscrepancies)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollRegion>
          )}
        </>
      )}
    </Card>
  );
}
