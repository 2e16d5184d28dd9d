'use client';
import { useQuery } from '@tanstack/react-query';
import { useFormatter, useTranslations } from 'next-intl';
import { parseAsString, parseAsStringLiteral, useQueryStates } from 'nuqs';
import type { FormEvent } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useTRPC } from '@/app/_trpc/client';
import { Money } from '../../_components/time';
import { Button, Card, ErrorState, Field, Input, Loading } from '../../_components/ui';
import { DeliveryHealthCard, ReconciliationStatusCard } from './operations-cards';
import { lastDays, todayBeijing } from './range';

const PERIODS = ['today', '7', '30', 'custom'] as const;
const params = { period: parseAsStringLiteral(PERIODS).withDefault('today'), from: parseAsString.withDefault(''), to: parseAsString.withDefault('') };

function rangeOf(p: { period: (typeof PERIODS)[number]; from: string; to: string }) {
  if (p.period === 'today') return { from: todayBeijing(), to: todayBeijing() };
  if (p.period === '7') return lastDays(7);
  if (p.period === '30') return lastDays(30);
  return p.from && p.to ? { from: p.from, to: p.to } : lastDays(7);
}

/** Which operations cards the role may see (decided on the server; the procedures check again). */
export function DashboardView({ showDelivery, showReconciliation }: { showDelivery: boolean; showReconciliation: boolean }) {
  const t = useTranslations('monitoring.dashboard');
  const ta = useTranslations('admin');
  const format = useFormatter();
  const trpc = useTRPC();
  const [p, setP] = useQueryStates(params);
  const range = rangeOf(p);
  const stats = useQuery({ ...trpc.admin.stats.dashboard.queryOptions(range), refetchInterval: 30_000 });

  const pct = (v: number) => format.number(v, { style: 'percent', maximumFractionDigits: 1 });
  const ms = (v: number | null) => (v == null ? '—' : v >= 3_600_000 ? t('above') : t('atMost', { value: v >= 1000 ? `${v / 1000} s` : `${v} ms` }));
  const delta = (now: number, before: number) =>
    before ? t('vsPrevious', { delta: `${now >= before ? '+' : ''}${pct((now - before) / before)}` }) : t('noPrevious');

  function onCustom(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    void setP({ period: 'custom', from: String(d.get('from') || ''), to: String(d.get('to') || '') });
  }

  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <p className="text-sm text-neutral-600">{t('help')}</p>
      <Card>
        <div className="flex flex-wrap items-end gap-2">
          <fieldset className="flex flex-wrap gap-1">
            <legend className="sr-only">{t('rangeLabel')}</legend>
            {PERIODS.filter((x) => x !== 'custom').map((x) => (
              <Button
                key={x}
                variant={p.period === x ? 'primary' : 'secondary'}
                aria-pressed={p.period === x}
                onClick={() => void setP({ period: x, from: null, to: null })}
              >
                {x === 'today' ? t('today') : x === '7' ? t('last7') : t('last30')}
              </Button>
            ))}
          </fieldset>
          <form onSubmit={onCustom} className="flex flex-wrap items-end gap-2">
            <Field label={t('from')} htmlFor="from">
              <Input id="from" name="from" type="date" defaultValue={range.from} required />
            </Field>
            <Field label={t('to')} htmlFor="to">
              <Input id="to" name="to" type="date" defaultValue={range.to} required />
            </Field>
            <Button type="submit" variant={p.period === 'custom' ? 'primary' : 'secondary'}>
              {t('custom')}
            </Button>
          </form>
        </div>
      </Card>
      {stats.isPending ? (
        <Loading label={ta('loading')} />
      ) : stats.isError ? (
        <ErrorState message={stats.error.message || ta('error')} retry={() => void stats.refetch()} retryLabel={ta('retry')} />
      ) : (
        <>
          <dl className="grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="kpis">
            {[
              { k: t('gross'), v: <Money fen={stats.data.totals.grossFen} />, d: delta(stats.data.totals.grossFen, stats.data.previous.grossFen) },
              { k: t('paid'), v: format.number(stats.data.totals.paidCount), d: delta(stats.data.totals.paidCount, stats.data.previous.paidCount) },
              {
                k: t('averageTicket'),
                v: <Money fen={stats.data.totals.averageTicketFen} />,
                d: delta(stats.data.totals.averageTicketFen, stats.data.previous.averageTicketFen),
              },
              {
                k: t('refunds'),
                v: (
                  <>
                    <Money fen={stats.data.totals.refundFen} /> · {stats.data.totals.refundCount}
                  </>
                ),
                d: `${t('refundRate')} ${pct(stats.data.totals.refundRate)}`,
              },
              { k: t('fees'), v: <Money fen={stats.data.totals.feesFen} />, d: stats.data.totals.feesBilled ? t('feesBilled') : t('feesEstimated') },
              { k: t('net'), v: <Money fen={stats.data.totals.netFen} />, d: delta(stats.data.totals.netFen, stats.data.previous.netFen) },
              { k: t('refundsStuck'), v: format.number(stats.data.refundsStuck), d: '' },
              {
                k: t('lastNotify'),
                v: stats.data.notifyNow.minutesSinceLast == null ? t('never') : format.number(stats.data.notifyNow.minutesSinceLast),
                d: t('paymentsRecent', { count: stats.data.notifyNow.paymentsLastTwoHours }),
              },
            ].map((x) => (
              <div key={x.k} className="rounded-lg border border-neutral-200 bg-white p-3">
                <dt className="text-xs text-neutral-600">{x.k}</dt>
                <dd className="text-lg font-semibold tabular-nums">{x.v}</dd>
                <dd className="text-xs text-neutral-600">{x.d}</dd>
              </div>
            ))}
          </dl>
          <Card title={t('seriesHeading')}>
            <div aria-hidden="true" className="h-64">
              <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 800, height: 256 }}>
                <BarChart accessibilityLayer={false} data={stats.data.series.map((s) => ({ ...s, gross: s.grossFen / 100, refunds: s.refundFen / 100 }))}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="label" fontSize={11} />
                  <YAxis fontSize={11} />
                  <Tooltip />
                  <Legend />
                  <Bar dataKey="gross" name={t('grossCol')} fill="#15803d" isAnimationActive={false} />
                  <Bar dataKey="refunds" name={t('refundCol')} fill="#b91c1c" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
            <details className="mt-2 text-sm">
              <summary className="cursor-pointer text-neutral-700">{t('seriesTable')}</summary>
              <table className="mt-2 w-full text-left text-sm" data-testid="series-table">
                <caption className="sr-only">{t('seriesTable')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('period')}</th>
                    <th scope="col">{t('grossCol')}</th>
                    <th scope="col">{t('paidCol')}</th>
                    <th scope="col">{t('refundCol')}</th>
                    <th scope="col">{t('createdCol')}</th>
                  </tr>
                </thead>
                <tbody>
                  {stats.data.series.map((s) => (
                    <tr key={s.label} className="border-t border-neutral-100">
                      <th scope="row" className="font-normal">
                        {s.label}
                      </th>
                      <td>
                        <Money fen={s.grossFen} />
                      </td>
                      <td>{s.paidCount}</td>
                      <td>
                        <Money fen={s.refundFen} />
                      </td>
                      <td>{s.createdCount}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </Card>
          <div className="grid gap-4 md:grid-cols-2">
            <Card title={t('funnelHeading')}>
              <table className="w-full text-left text-sm" data-testid="funnel-table">
                <caption className="sr-only">{t('funnelTable')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('stage')}</th>
                    <th scope="col">{t('count')}</th>
                  </tr>
                </thead>
                <tbody>
                  {(
                    [
                      ['created', stats.data.funnel.created],
                      ['qrShown', stats.data.funnel.qrShown],
                      ['paidStage', stats.data.funnel.paid],
                      ['expired', stats.data.funnel.expired],
                    ] as const
                  ).map(([k, v]) => (
                    <tr key={k} className="border-t border-neutral-100">
                      <th scope="row" className="font-normal">
                        {t(k)}
                      </th>
                      <td>
                        <span
                          className="inline-block h-2 rounded bg-neutral-700 align-middle"
                          style={{ width: `${stats.data.funnel.created ? Math.round((100 * v) / stats.data.funnel.created) : 0}%`, maxWidth: '60%' }}
                          aria-hidden="true"
                        />{' '}
                        {v}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <dl className="mt-3 grid grid-cols-1 gap-1 text-sm">
                <div className="flex justify-between gap-2">
                  <dt>{t('expiryShare')}</dt>
                  <dd>{pct(stats.data.expiryShare)}</dd>
                </div>
                <div className="flex justify-between gap-2">
                  <dt>{t('renewals')}</dt>
                  <dd>{format.number(stats.data.renewalsPerOrder, { maximumFractionDigits: 2 })}</dd>
                </div>
                <div className="flex justify-between gap-2">
                  <dt>{t('timeToPay')}</dt>
                  <dd>
                    {ms(stats.data.timeToPayMs.p50)} / {ms(stats.data.timeToPayMs.p95)}
                  </dd>
                </div>
              </dl>
            </Card>
            <Card title={t('notifyHeading')}>
              <table className="w-full text-left text-sm" data-testid="learned-table">
                <caption className="sr-only">{t('learnedTable')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('via')}</th>
                    <th scope="col">{t('count')}</th>
                  </tr>
                </thead>
                <tbody>
                  {(['notify', 'query', 'shopper', 'bill'] as const).map((k) => (
                    <tr key={k} className="border-t border-neutral-100">
                      <th scope="row" className="font-normal">
                        {t(k)}
                      </th>
                      <td>{stats.data.learnedVia[k]}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <dl className="mt-3 grid grid-cols-1 gap-1 text-sm">
                <div className="flex justify-between gap-2">
                  <dt>{t('wechatLatency')}</dt>
                  <dd>
                    {ms(stats.data.wechatLatencyMs.p50)} / {ms(stats.data.wechatLatencyMs.p95)}
                  </dd>
                </div>
                <div className="flex justify-between gap-2">
                  <dt>{t('ourLatency')}</dt>
                  <dd>
                    {ms(stats.data.ourLatencyMs.p50)} / {ms(stats.data.ourLatencyMs.p95)}
                  </dd>
                </div>
                <div className="flex justify-between gap-2">
                  <dt>{t('duplicates')}</dt>
                  <dd>{pct(stats.data.duplicateRatio)}</dd>
                </div>
                <div className="flex justify-between gap-2">
                  <dt>{t('rejects')}</dt>
                  <dd>{stats.data.rejects.length ? stats.data.rejects.map((r) => `${r.reason}: ${r.count}`).join(', ') : t('noRejects')}</dd>
                </div>
              </dl>
            </Card>
          </div>
        </>
      )}
      {showDelivery || showReconciliation ? (
        <div className="grid gap-4 md:grid-cols-2">
          {showDelivery ? <DeliveryHealthCard /> : null}
          {showReconciliation ? <ReconciliationStatusCard /> : null}
        </div>
      ) : null}
    </div>
  );
}
