'use client';
// One Beijing day: our ledger, the trade bill and the fund-flow bill side by side, their differences, the
// fund accounts, the matched share and the open discrepancies by class.
import { useQuery } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import { type FormEvent, useState } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import type { DiscrepancyClass } from '@/server/reconciliation/classes';
import { Money } from '../../_components/time';
import { Badge, Button, Card, EmptyState, ErrorState, Field, Input, Loading } from '../../_components/ui';

const ROWS = [
  'paidCount',
  'grossFen',
  'settlementGrossFen',
  'couponFen',
  'refundsRequestedFen',
  'refundsFen',
  'feesMilli',
  'feesFen',
  'feeRefundsFen',
  'netFen',
] as const;
type Row = (typeof ROWS)[number];

function yesterday(): string {
  return new Date(Date.now() + 8 * 3600_000 - 24 * 3600_000).toISOString().slice(0, 10);
}

/** Thousandths of a fen as yuan with five decimals (the trade bill's fee column). */
function fiveDecimals(milli: number): string {
  const sign = milli < 0 ? '-' : '';
  const a = Math.abs(milli);
  return `${sign}¥${Math.floor(a / 100_000)}.${String(a % 100_000).padStart(5, '0')}`;
}

export function DayReportView() {
  const t = useTranslations('reconciliation');
  const trpc = useTRPC();
  const [date, setDate] = useState(yesterday());
  const day = useQuery(trpc.admin.reconciliation.day.queryOptions({ date }));
  const r = day.data?.report;

  function show(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const v = String(new FormData(e.currentTarget).get('date') ?? '');
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) setDate(v);
  }

  const cell = (row: Row, col: { paidCount: number; feesMilliFen: number } & Record<string, number>) => {
    if (row === 'paidCount') return <span className="tabular-nums">{col.paidCount}</span>;
    if (row === 'feesMilli') return <span className="tabular-nums">{fiveDecimals(col.feesMilliFen)}</span>;
    return <Money fen={col[row] ?? 0} />;
  };
  const fundCell = (row: Row) => {
    if (!r) return null;
    const f = r.fundSettlement;
    const v =
      row === 'settlementGrossFen'
        ? f.settlementGrossFen
        : row === 'refundsFen'
          ? f.refundsFen
          : row === 'feesFen'
            ? f.feesFen
            : row === 'feeRefundsFen'
              ? f.feeRefundsFen
              : row === 'netFen'
                ? f.netFen
                : null;
    return v === null ? <span className="text-neutral-500">—</span> : <Money fen={v} />;
  };

  return (
    <Card title={t('reportTitle')}>
      <form onSubmit={show} className="mb-3 flex flex-wrap items-end gap-2">
        <Field label={t('report.date')} htmlFor="report-date">
          <Input id="report-date" name="date" type="date" defaultValue={date} />
        </Field>
        <Button type="submit" data-testid="report-show">
          {t('report.show')}
        </Button>
      </form>
      {day.isLoading ? <Loading label={t('loading')} /> : null}
      {day.error ? <ErrorState message={t('error', { error: day.error.message })} retry={() => void day.refetch()} retryLabel={t('retry')} /> : null}
      {day.data && !r ? <EmptyState>{t('report.notReconciled')}</EmptyState> : null}
      {r && day.data?.api ? (
        <div className="space-y-4" data-testid="day-report">
          <p className="flex flex-wrap gap-3 text-sm">
            <span>
              {t('report.status')}: <Badge tone={day.data.api.status === 'reconciled' ? 'green' : 'amber'}>{day.data.api.status}</Badge>
            </span>
            <span data-testid="matched-percent">
              {t('report.matched')}: {r.matchedPercent}%
            </span>
          </p>
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a table wider than a phone scrolls; axe requires the region be reachable by keyboard */}
          <div className="overflow-x-auto" role="region" aria-label={t('reportTitle')} tabIndex={0}>
            <table className="w-full text-left text-sm" data-testid="settlement-table">
              <thead>
                <tr className="border-b">
                  <th scope="col" className="px-2 py-2" />
                  <th scope="col" className="px-2 py-2 font-medium">
                    {t('report.ledger')}
                  </th>
                  <th scope="col" className="px-2 py-2 font-medium">
                    {t('report.trade')}
                  </th>
                  <th scope="col" className="px-2 py-2 font-medium">
                    {t('report.fund')}
                  </th>
                  <th scope="col" className="px-2 py-2 font-medium">
                    {t('report.difference')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {ROWS.map((row) => {
                  const key = row === 'feesMilli' ? 'feesMilliFen' : row;
                  const diff = (r.ledger as unknown as Record<string, number>)[key]! - (r.trade as unknown as Record<string, number>)[key]!;
                  return (
                    <tr key={row} className="border-b" data-testid={`row-${row}`}>
                      <th scope="row" className="px-2 py-2 font-medium">
                        {t(`report.rows.${row}`)}
                      </th>
                      <td className="px-2 py-2">{cell(row, r.ledger as never)}</td>
                      <td className="px-2 py-2">{cell(row, r.trade as never)}</td>
                      <td className="px-2 py-2">{fundCell(row)}</td>
                      <td className={`px-2 py-2 ${diff === 0 ? '' : 'font-semibold text-red-800'}`}>
                        {row === 'paidCount' ? diff : row === 'feesMilli' ? fiveDecimals(diff) : <Money fen={diff} />}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a table wider than a phone scrolls; axe requires the region be reachable by keyboard */}
          <div className="overflow-x-auto" role="region" aria-label={t('reportTitle')} tabIndex={0}>
            <table className="w-full text-left text-sm" data-testid="fund-table">
              <caption className="py-1 text-left font-medium">{t('report.accounts')}</caption>
              <thead>
                <tr className="border-b">
                  <th scope="col" className="px-2 py-2 font-medium">
                    {t('report.account')}
                  </th>
                  <th scope="col" className="px-2 py-2 font-medium">
                    {t('report.income')}
                  </th>
                  <th scope="col" className="px-2 py-2 font-medium">
                    {t('report.expense')}
                  </th>
                  <th scope="col" className="px-2 py-2 font-medium">
                    {t('report.closing')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {r.fund.map((a) => (
                  <tr key={a.account} className="border-b">
                    <th scope="row" className="px-2 py-2 font-medium">
                      {a.account}
                    </th>
                    <td className="px-2 py-2">
                      <Money fen={a.incomeFen} />
                    </td>
                    <td className="px-2 py-2">
                      <Money fen={a.expenseFen} />
                    </td>
                    <td className="px-2 py-2">{a.closingBalanceFen === null ? '—' : <Money fen={a.closingBalanceFen} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div>
            <h2 className="font-medium">{t('report.open')}</h2>
            {Object.keys(r.openByClass).length === 0 ? (
              <p className="text-sm">{t('report.none')}</p>
            ) : (
              <ul className="text-sm" data-testid="open-by-class">
                {Object.entries(r.openByClass).map(([cls, count]) => (
                  <li key={cls}>
                    {t(`classes.${cls as DiscrepancyClass}`)}: {count}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>
      ) : null}
    </Card>
  );
}
