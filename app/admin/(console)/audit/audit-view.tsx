'use client';
import { useQuery } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import { parseAsInteger, parseAsString, useQueryStates } from 'nuqs';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { BeijingTime } from '../../_components/time';
import { Alert, Button, Card, EmptyState, ErrorState, Field, Input, Loading } from '../../_components/ui';

const params = { actor: parseAsString.withDefault(''), action: parseAsString.withDefault(''), before: parseAsInteger };

export function AuditView() {
  const t = useTranslations('admin.audit');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const [p, setP] = useQueryStates(params);
  const [verify, setVerify] = useState(false);
  const list = useQuery(
    trpc.admin.audit.list.queryOptions({ actor: p.actor || undefined, action: p.action || undefined, before: p.before ?? undefined, limit: 50 }),
  );
  const chain = useQuery({ ...trpc.admin.audit.verify.queryOptions(), enabled: verify });

  function onFilter(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    void setP({ actor: String(d.get('actor') || '') || null, action: String(d.get('action') || '') || null, before: null });
  }

  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <p className="text-sm text-neutral-600">{t('help')}</p>
      <Card>
        <form key={`${p.actor}|${p.action}`} onSubmit={onFilter} className="grid gap-3 sm:grid-cols-3 sm:items-end">
          <Field label={t('filterActor')} htmlFor="actor">
            <Input id="actor" name="actor" defaultValue={p.actor} />
          </Field>
          <Field label={t('filterAction')} htmlFor="action">
            <Input id="action" name="action" defaultValue={p.action} placeholder="user.role_change" />
          </Field>
          <div className="flex gap-2">
            <Button type="submit">{t('apply')}</Button>
            <Button variant="secondary" onClick={() => (verify ? void chain.refetch() : setVerify(true))}>
              {t('verify')}
            </Button>
          </div>
        </form>
        {chain.data ? (
          <div className="mt-3">
            <Alert tone={chain.data.ok ? 'green' : 'red'} testId="chain-result">
              {chain.data.ok ? t('chainOk', { count: chain.data.checked }) : t('chainBroken', { id: chain.data.brokenAt ?? 0 })}
            </Alert>
          </div>
        ) : null}
      </Card>
      {list.isPending ? (
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
                <p className="mt-1 font-mono text-[10px] break-all text-neutral-400">{e.hash}</p>
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
