'use client';
// The orders list: filters and the page cursor live in the URL (nuqs), so a filtered view is a link to
// share; rows come a page at a time by keyset; the count stops at 10,000 unless asked for exactly.
import { useQuery } from '@tanstack/react-query';
import { tableFeatures, useTable, type ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { useTranslations } from 'next-intl';
import { parseAsArrayOf, parseAsInteger, parseAsString, parseAsStringLiteral, useQueryStates } from 'nuqs';
import { useMemo, useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { COUNT_CAP, FLAGS, LEARNED_VIA, ORDER_STATUSES } from '@/server/console/orders-shared';
import type { OrderRow } from '@/server/console/orders';
import { beijingDayEnd, beijingDayStart } from '../../_lib/beijing';
import { BeijingTime, Money } from '../../_components/time';
import { ExportButton } from './export-button';
import { SavedViews } from './saved-views';
import { Badge, Button, Card, EmptyState, ErrorState, Field, Input, Loading, Select } from '../../_components/ui';

const params = {
  q: parseAsString.withDefault(''),
  status: parseAsArrayOf(parseAsStringLiteral(ORDER_STATUSES)).withDefault([]),
  via: parseAsArrayOf(parseAsStringLiteral(LEARNED_VIA)).withDefault([]),
  flags: parseAsArrayOf(parseAsStringLiteral(FLAGS)).withDefault([]),
  createdFrom: parseAsString.withDefault(''),
  createdTo: parseAsString.withDefault(''),
  paidFrom: parseAsString.withDefault(''),
  paidTo: parseAsString.withDefault(''),
  min: parseAsInteger,
  max: parseAsInteger,
  after: parseAsString.withDefault(''),
};

const features = tableFeatures({});

const STATUS_TONE = { paid: 'green', awaiting_payment: 'blue', closed: 'neutral', refunded: 'amber', partially_refunded: 'amber', review: 'red' } as const;

function parseCursor(after: string): { createdAt: Date; id: string } | undefined {
  const i = after.lastIndexOf('_');
  if (i < 0) return undefined;
  const createdAt = new Date(after.slice(0, i));
  const id = after.slice(i + 1);
  return Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/i.test(id) ? undefined : { createdAt, id };
}

const yuanToFen = (v: FormDataEntryValue | null) => {
  const s = String(v ?? '').trim();
  if (!s || !/^\d+(\.\d{1,2})?$/.test(s)) return null;
  return Math.round(Number(s) * 100);
};

export function OrdersView() {
  const t = useTranslations('admin.orders');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const [p, setP] = useQueryStates(params);
  const [exact, setExact] = useState(false);

  const filter = useMemo(
    () => ({
      q: p.q || undefined,
      status: p.status.length ? p.status : undefined,
      learnedVia: p.via.length ? p.via : undefined,
      flags: p.flags.length ? p.flags : undefined,
      createdFrom: p.createdFrom ? beijingDayStart(p.createdFrom) : undefined,
      createdTo: p.createdTo ? beijingDayEnd(p.createdTo) : undefined,
      paidFrom: p.paidFrom ? beijingDayStart(p.paidFrom) : undefined,
      paidTo: p.paidTo ? beijingDayEnd(p.paidTo) : undefined,
      amountMinFen: p.min ?? undefined,
      amountMaxFen: p.max ?? undefined,
    }),
    [p],
  );
  const list = useQuery(trpc.admin.orders.list.queryOptions({ filter, cursor: parseCursor(p.after), limit: 50 }));
  const exactCount = useQuery({ ...trpc.admin.orders.countExact.queryOptions({ filter }), enabled: exact });

  const columns = useMemo<Array<ColumnDef<typeof features, OrderRow>>>(
    () => [
      { id: 'created', header: `${t('cols.created')} (${ta('beijingTime')})`, cell: (c) => <BeijingTime value={c.row.original.createdAt} /> },
      { id: 'paid', header: `${t('cols.paid')} (${ta('beijingTime')})`, cell: (c) => <BeijingTime value={c.row.original.paidAt} /> },
      { id: 'amount', header: t('cols.amount'), cell: (c) => <Money fen={c.row.original.amountFen} /> },
      { id: 'refunded', header: t('cols.refunded'), cell: (c) => (c.row.original.refundedFen ? <Money fen={c.row.original.refundedFen} /> : '—') },
      { id: 'net', header: t('cols.net'), cell: (c) => <Money fen={c.row.original.netFen} /> },
      {
        id: 'status',
        header: t('cols.status'),
        cell: (c) => (
          <span className="flex flex-wrap gap-1">
            <Badge tone={STATUS_TONE[c.row.original.status]}>{t(`statuses.${c.row.original.status}`)}</Badge>
            {c.row.original.flags.map((f) => (
              <Badge key={f} tone="red">
                {t(`flagNames.${f as (typeof FLAGS)[number]}`)}
              </Badge>
            ))}
          </span>
        ),
      },
      { id: 'via', header: t('cols.via'), cell: (c) => (c.row.original.paidVia ? t(`via.${c.row.original.paidVia as 'notify'}`) : '—') },
      {
        id: 'id',
        header: t('cols.id'),
        cell: (c) => (
          <Link href={`/admin/orders/${c.row.original.id}`} className="font-mono text-xs text-blue-800 underline">
            {c.row.original.id}
          </Link>
        ),
      },
      { id: 'outTradeNo', header: t('cols.outTradeNo'), cell: (c) => <span className="font-mono text-xs">{c.row.original.outTradeNo ?? '—'}</span> },
      { id: 'transactionId', header: t('cols.transactionId'), cell: (c) => <span className="font-mono text-xs">{c.row.original.transactionId ?? '—'}</span> },
      { id: 'description', header: t('cols.description'), cell: (c) => <span className="line-clamp-2 max-w-48">{c.row.original.description}</span> },
      { id: 'attempts', header: t('cols.attempts'), cell: (c) => c.row.original.attempts },
    ],
    [t, ta],
  );
  const rows = useMemo(() => list.data?.rows ?? [], [list.data]);
  const table = useTable({ features, columns, data: rows });

  function onSearch(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const many = <T extends string>(name: string, allowed: readonly T[]) =>
      d
        .getAll(name)
        .map(String)
        .filter((v): v is T => (allowed as readonly string[]).includes(v));
    setExact(false);
    void setP({
      q: String(d.get('q') ?? '').trim() || null,
      status: many('status', ORDER_STATUSES),
      via: many('via', LEARNED_VIA),
      flags: many('flags', FLAGS),
      createdFrom: String(d.get('createdFrom') ?? '') || null,
      createdTo: String(d.get('createdTo') ?? '') || null,
      paidFrom: String(d.get('paidFrom') ?? '') || null,
      paidTo: String(d.get('paidTo') ?? '') || null,
      min: yuanToFen(d.get('min')),
      max: yuanToFen(d.get('max')),
      after: null,
    });
  }

  const filtered = Boolean(
    p.q || p.status.length || p.via.length || p.flags.length || p.createdFrom || p.createdTo || p.paidFrom || p.paidTo || p.min !== null || p.max !== null,
  );
  const count = list.data?.count;

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-xl font-semibold">{t('heading')}</h1>
        <ExportButton filter={filter} />
      </div>
      <SavedViews />
      <Card>
        {/* key: a URL change (back/forward, clear) resets the uncontrolled inputs to the URL's values. */}
        <form key={JSON.stringify(p)} onSubmit={onSearch} className="space-y-3" role="search" aria-label={t('search')}>
          <div className="flex gap-2">
            <label htmlFor="q" className="sr-only">
              {t('search')}
            </label>
            <Input id="q" name="q" type="search" defaultValue={p.q} placeholder={t('searchPlaceholder')} autoComplete="off" spellCheck={false} />
            <Button type="submit">{t('search')}</Button>
          </div>
          <details className="group" open={filtered && !p.q ? true : undefined}>
            <summary className="cursor-pointer rounded text-sm font-medium text-neutral-700">{t('filters')}</summary>
            <div className="mt-3 grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
              <Field label={t('status')} htmlFor="status">
                <Select id="status" name="status" multiple size={4} defaultValue={p.status} className="h-auto">
                  {ORDER_STATUSES.map((s) => (
                    <option key={s} value={s}>
                      {t(`statuses.${s}`)}
                    </option>
                  ))}
                </Select>
              </Field>
              <Field label={t('learnedVia')} htmlFor="via">
                <Select id="via" name="via" multiple size={4} defaultValue={p.via} className="h-auto">
                  {LEARNED_VIA.map((v) => (
                    <option key={v} value={v}>
                      {t(`via.${v}`)}
                    </option>
                  ))}
                </Select>
              </Field>
              <fieldset className="space-y-1">
                <legend className="text-sm font-medium text-neutral-800">{t('flags')}</legend>
                {FLAGS.map((f) => (
                  <label key={f} className="flex items-center gap-2 text-sm">
                    <input type="checkbox" name="flags" value={f} defaultChecked={p.flags.includes(f)} className="size-4" />
                    {t(`flagNames.${f}`)}
                  </label>
                ))}
              </fieldset>
              <div className="grid grid-cols-2 gap-2">
                <Field label={t('amountMin')} htmlFor="min">
                  <Input id="min" name="min" inputMode="decimal" defaultValue={p.min !== null ? (p.min / 100).toFixed(2) : ''} />
                </Field>
                <Field label={t('amountMax')} htmlFor="max">
                  <Input id="max" name="max" inputMode="decimal" defaultValue={p.max !== null ? (p.max / 100).toFixed(2) : ''} />
                </Field>
              </div>
              <Field label={`${t('createdFrom')} (${ta('beijingTime')})`} htmlFor="createdFrom">
                <Input id="createdFrom" name="createdFrom" type="date" defaultValue={p.createdFrom} />
              </Field>
              <Field label={`${t('createdTo')} (${ta('beijingTime')})`} htmlFor="createdTo">
                <Input id="createdTo" name="createdTo" type="date" defaultValue={p.createdTo} />
              </Field>
              <Field label={`${t('paidFrom')} (${ta('beijingTime')})`} htmlFor="paidFrom">
                <Input id="paidFrom" name="paidFrom" type="date" defaultValue={p.paidFrom} />
              </Field>
              <Field label={`${t('paidTo')} (${ta('beijingTime')})`} htmlFor="paidTo" hint={t('dateHelp')}>
                <Input id="paidTo" name="paidTo" type="date" defaultValue={p.paidTo} />
              </Field>
            </div>
            <div className="mt-3 flex flex-wrap gap-2">
              <Button type="submit">{t('apply')}</Button>
              <Button
                variant="secondary"
                onClick={() => {
                  setExact(false);
                  void setP(null);
                }}
              >
                {t('clear')}
              </Button>
            </div>
          </details>
        </form>
      </Card>

      <div className="flex flex-wrap items-center gap-3 text-sm text-neutral-700" aria-live="polite">
        {list.data?.search ? <span data-testid="search-kind">{t('searchAs', { kind: t(`kinds.${list.data.search.kind}`) })}</span> : null}
        {count ? (
          <span data-testid="order-count">
            {exactCount.data
              ? t('count', { count: exactCount.data.count })
              : count.capped
                ? t('countCapped', { count: COUNT_CAP.toLocaleString() })
                : t('count', { count: count.count })}
          </span>
        ) : null}
        {count?.capped && !exactCount.data ? (
          <Button variant="ghost" onClick={() => setExact(true)} disabled={exactCount.isFetching}>
            {t('countExact')}
          </Button>
        ) : null}
      </div>

      {list.isPending ? (
        <Loading label={ta('loading')} />
      ) : list.isError ? (
        <ErrorState message={ta('error')} retry={() => void list.refetch()} retryLabel={ta('retry')} />
      ) : rows.length === 0 ? (
        <EmptyState>{filtered ? t('empty') : t('emptyAll')}</EmptyState>
      ) : (
        <>
          {/* Desktop: the table. Phone: one card per order. */}
          <div className="hidden overflow-x-auto rounded-lg border border-neutral-200 bg-white md:block">
            <table className="min-w-full text-left text-sm" data-testid="orders-table">
              <thead className="bg-neutral-50 text-xs text-neutral-700">
                {table.getHeaderGroups().map((g) => (
                  <tr key={g.id}>
                    {g.headers.map((h) => (
                      <th key={h.id} scope="col" className="px-3 py-2 font-semibold whitespace-nowrap">
                        <table.FlexRender header={h} />
                      </th>
                    ))}
                  </tr>
                ))}
              </thead>
              <tbody>
                {table.getRowModel().rows.map((r) => (
                  <tr key={r.id} className="border-t border-neutral-100 align-top hover:bg-neutral-50" data-testid="order-row">
                    {r.getAllCells().map((c) => (
                      <td key={c.id} className="px-3 py-2">
                        <table.FlexRender cell={c} />
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ul className="space-y-2 md:hidden" data-testid="orders-cards">
            {rows.map((o) => (
              <li key={o.id} className="rounded-lg border border-neutral-200 bg-white p-3" data-testid="order-card">
                <Link href={`/admin/orders/${o.id}`} className="block space-y-1">
                  <div className="flex items-center justify-between gap-2">
                    <Money fen={o.amountFen} />
                    <Badge tone={STATUS_TONE[o.status]}>{t(`statuses.${o.status}`)}</Badge>
                  </div>
                  <p className="line-clamp-1 text-sm">{o.description}</p>
                  <p className="text-xs text-neutral-600">
                    <BeijingTime value={o.createdAt} withLabel />
                  </p>
                  <p className="font-mono text-xs break-all text-neutral-600">{o.outTradeNo}</p>
                </Link>
              </li>
            ))}
          </ul>
          <div className="flex gap-2">
            {p.after ? (
              <Button variant="secondary" onClick={() => void setP({ after: null })}>
                {t('first')}
              </Button>
            ) : null}
            {list.data?.nextCursor ? (
              <Button
                variant="secondary"
                onClick={() => void setP({ after: `${list.data!.nextCursor!.createdAt.toISOString()}_${list.data!.nextCursor!.id}` })}
              >
                {t('next')}
              </Button>
            ) : null}
          </div>
        </>
      )}
    </div>
  );
}
