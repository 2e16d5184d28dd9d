'use client';
import { useQuery } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import { parseAsInteger, parseAsString, useQueryStates } from 'nuqs';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { BeijingTime } from '../../_components/time';
import type { AuditLogFilter } from '@/server/console/audit-log';
import { Alert, Button, Card, EmptyState, ErrorState, Field, Input, Loading } from '../../_components/ui';
import { AuditExportButton } from './export-button';

const params = {
  actor: parseAsString.withDefault(''),
  action: parseAsString.withDefault(''),
  objectType: parseAsString.withDefault(''),
  objectId: parseAsString.withDefault(''),
  from: parseAsString.withDefault(''),
  to: parseAsString.withDefault(''),
  before: parseAsInteger,
};
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function AuditView() {
  const t = useTranslations('admin.audit');
  const tf = useTranslations('consoleMore.audit');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const [p, setP] = useQueryStates(params);
  const [verify, setVerify] = useState(false);
  // Only well-formed days reach the server (a hand-edited URL cannot make the list fail).
  const filter: AuditLogFilter = {
    actor: p.actor || undefined,
    action: p.action || undefined,
    objectType: p.objectType || undefined,
    objectId: p.objectId || undefined,
    fromDay: DAY.test(p.from) ? p.from : undefined,
    toDay: DAY.test(p.to) ? p.to : undefined,
  };
  const badRange = Boolean(filter.fromDay && filter.toDay && filter.fromDay > filter.toDay);
  const list = useQuery({ ...trpc.admin.audit.list.queryOptions({ filter, before: p.before ?? undefined, limit: 50 }), enabled: !badRange });
  const chain = useQuery({ ...trpc.admin.audit.verify.queryOptions(), enabled: verify });

  function onFilter(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const v = (k: string) => String(d.get(k) || '').trim() || null;
    void setP({ actor: v('actor'), action: v('action'), objectType: v('objectType'), objectId: v('objectId'), from: v('from'), to: v('to'), before: null });
  }

  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <p className="text-sm text-neutral-600">{t('help')}</p>
      <Card>
        <form key={JSON.stringify(filter)} onSubmit={onFilter} className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3 lg:items-end" aria-label={tf('filters')}>
          <Field label={t('filterActor')} htmlFor="actor">
            <Input id="actor" name="actor" type="email" defaultValue={p.actor} autoComplete="off" />
          </Field>
          <Field label={t('filterAction')} htmlFor="action">
            <Input id="action" name="action" defaultValue={p.action} placeholder="user.role_change" autoComplete="off" />
          </Field>
          <Field label={tf('objectType')} htmlFor="objectType">
            <Input id="objectType" name="objectType" defaultValue={p.objectType} placeholder="product" autoComplete="off" />
          </Field>
          <Field label={tf('objectId')} htmlFor="objectId">
            <Input id="objectId" name="objectId" defaultValue={p.objectId} autoComplete="off" />
          </Field>
          <Field label={tf('fromDay')} htmlFor="from">
            <Input id="from" name="from" type="date" defaultValue={p.from} />
          </Field>
          <Field label={tf('toDay')} htmlFor="to">
            <Input
              id="to"
              name="to"
              type="date"
              defaultValue={p.to}
              aria-invalid={badRange || undefined}
              aria-describedby={badRange ? 'range-error' : undefined}
            />
          </Field>
          <div className="flex flex-wrap gap-2 sm:col-span-2 lg:col-span-3">
            <Button type="submit">{t('apply')}</Button>
            <Button
              variant="secondary"
              onClick={() => void setP({ actor: null, action: null, objectType: null, objectId: null, from: null, to: null, before: null })}
            >
              {tf('clear')}
            </Button>
            <Button variant="secondary" onClick={() => (verify ? void chain.refetch() : setVerify(true))}>
              {t('verify')}
            </Button>
            <AuditExportButton filter={filter} disabled={badRange} />
          </div>
        </form>
        <p className="mt-2 text-xs text-neutral-600">{tf('daysHint')}</p>
        {badRange ? (
          <p id="range-error" role="alert" className="mt-2 text-sm text-red-800">
            {tf('badRange')}
          </p>
        ) : null}
        {chain.data ? (
          <div className="mt-3">
            <Alert tone={chain.data.ok ? 'green' : 'red'} testId="chain-result">
              {chain.data.ok ? t('chainOk', { count: chain.data.checked }) : t('chainBroken', { id: chain.data.brokenAt ?? 0 })}
            </Alert>
          </div>
        ) : null}
      </Card>
      {badRange ? null : list.isPending ? (
        <Loading label={ta('loading')} />
      ) : list.isError ? (
        <ErrorState message={ta('error')} retry={() => void list.refetch()} retryLabel={ta('retry')} />
      ) : list.data.rows.length === 0 ? (
        <EmptyState>{t('empty')}</EmptyState>
      ) : (
        <>
          <ol className="space-y-2" data-testid="audit-entries">
            {list.data.rows.map((e) => (
              <li key={e.id} className="rounded-lg border border-neutral-200 bg-white p-3 text-sm" data-testid="audit-entry">
                <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
                  <span className="font-mono text-xs text-neutral-500">#{e.id}</span>
                  <BeijingTime value={e.at} withLabel />
                  <span className="font-medium">{e.action}</span>
                  <span>
                    {t('actor')}: {e.actorEmail ?? '—'}
                    {e.actorRole ? ` (${ta(`roles.${e.actorRole as 'owner'}`)})` : ''}
                  </span>
                  <span className="text-xs text-neutral-600">
                    {t('ip')}: {e.ip ?? '—'} · {t('fresh')}: {e.twoFactorFresh ? t('yes') : t('no')}
                  </span>
                </div>
                {e.objectType ? (
                  <p className="mt-1 text-xs text-neutral-600">
                    {t('object')}: {e.objectType} <span className="font-mono">{e.objectId}</span>
                  </p>
                ) : null}
                {e.reason ? (
                  <p className="mt-1 text-xs">
                    {t('reason')}: {e.reason}
                  </p>
                ) : null}
                {e.before || e.after ? (
                  <p className="mt-1 font-mono text-xs break-all text-neutral-700">
                    {t('change')}: {JSON.stringify(e.before)} → {JSON.stringify(e.after)}
                  </p>
                ) : null}
                <p className="mt-1 font-mono text-[10px] break-all text-neutral-600">{e.hash}</p>
              </li>
            ))}
          </ol>
          {list.data.nextCursor ? (
            <Button variant="secondary" onClick={() => void setP({ before: list.data.nextCursor })}>
              {t('more')}
            </Button>
          ) : null}
        </>
      )}
    </div>
  );
}
