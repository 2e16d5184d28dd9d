'use client';
// A month of settlement: a chart (recharts) and the same figures as a table, for screen readers and for
// reading exact amounts; CSV of the same rows.
import { useQuery } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import { type FormEvent, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useTRPC } from '@/app/_trpc/client';
import { Money } from '../../_components/time';
import { Button, Card, ErrorState, Field, Input, Loading } from '../../_components/ui';

export function MonthView() {
  const t = useTranslations('reconciliation');
  const trpc = useTRPC();
  const [month, setMonth] = useState(new Date(Date.now() + 8 * 3600_000 - 24 * 3600_000).toISOString().slice(0, 7));
  const q = useQuery(trpc.admin.reconciliation.month.queryOptions({ month }));
  const days = q.data?.days ?? [];
  const chart = days.map((d) => ({ day: d.date.slice(8), [t('month.net')]: d.tradeNetFen / 100, [t('month.gross')]: d.tradeGrossFen / 100 }));

  function show(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const v = String(new FormData(e.currentTarget).get('month') ?? '');
    if (/^\d{4}-\d{2}$/.test(v)) setMonth(v);
  }

  return (
    <Card title={t('tabs.month')}>
      <form onSubmit={show} className="mb-3 flex flex-wrap items-end gap-2">
        <Field label={t('month.month')} htmlFor="month-input">
          <Input id="month-input" name="month" type="month" defaultValue={month} />
        </Field>
        <Button type="submit">{t('report.show')}</Button>
        {q.data ? (
          <a
            className="inline-flex min-h-10 items-center rounded-md border border-neutral-300 px-3 text-sm font-medium"
            data-testid="month-csv"
            download={`settlement-${month}.csv`}
            href={`data:text/csv;charset=utf-8,${encodeURIComponent(q.data.csv)}`}
          >
            {t('month.csv')}
          </a>
        ) : null}
      </form>
      {q.isLoading ? <Loading label={t('loading')} /> : null}
      {q.error ? <ErrorState message={t('error', { error: q.error.message })} retry={() => void q.refetch()} retryLabel={t('retry')} /> : null}
      {days.length > 0 ? (
        <figure aria-label={t('month.chartLabel')}>
          <div className="h-64 w-full" aria-hidden="true">
            <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 600, height: 256 }}>
              <BarChart accessibilityLayer={false} data={chart}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="day" />
                <YAxis />
                <Tooltip />
                <Legend />
                <Bar dataKey={t('month.gross')} fill="#a3a3a3" />
                <Bar dataKey={t('month.net')} fill="#1d4ed8" />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <figcaption className="text-xs text-neutral-600">{t('month.chartLabel')}</figcaption>
        </figure>
      ) : null}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a table wider than a phone scrolls; axe requires the region be reachable by keyboard */}
      <div className="overflow-x-auto" role="region" aria-label={t('month.table')} tabIndex={0}>
        <table className="w-full text-left text-sm" data-testid="month-table">
          <caption className="py-1 text-left font-medium">{t('month.table')}</caption>
          <thead>
            <tr className="border-b">
              <th scope="col" className="px-2 py-2 font-medium">
                {t('cols.day')}
              </th>
              <th scope="col" className="px-2 py-2 font-medium">
                {t('report.status')}
              </th>
              <th scope="col" className="px-2 py-2 font-medium">
                {t('report.matched')}
              </th>
              <th scope="col" className="px-2 py-2 font-medium">
                {t('month.gross')}
              </th>
              <th scope="col" className="px-2 py-2 font-medium">
                {t('month.refunds')}
              </th>
              <th scope="col" className="px-2 py-2 font-medium">
                {t('month.fees')}
              </th>
              <th scope="col" className="px-2 py-2 font-medium">
                {t('month.net')}
              </th>
              <th scope="col" className="px-2 py-2 font-medium">
                {t('month.open')}
              </th>
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.date} className="border-b">
                <th scope="row" className="px-2 py-2 font-medium tabular-nums">
                  {d.date}
                </th>
                <td className="px-2 py-2">{d.status}</td>
                <td className="px-2 py-2 tabular-nums">{d.matchedPercent === null ? '—' : `${d.matchedPercent}%`}</td>
                <td className="px-2 py-2">
                  <Money fen={d.tradeGrossFen} />
                </td>
                <td className="px-2 py-2">
                  <Money fen={d.refundsFen} />
                </td>
                <td className="px-2 py-2">
                  <Money fen={d.feesFen} />
                </td>
                <td className="px-2 py-2">
                  <Money fen={d.tradeNetFen} />
                </td>
                <td className="px-2 py-2 tabular-nums">{d.open}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
