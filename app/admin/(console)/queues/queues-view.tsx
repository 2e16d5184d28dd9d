'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import Link from 'next/link';
import { useState } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { BeijingTime } from '../../_components/time';
import { Alert, Button, Card, EmptyState, ErrorState, Field, Input, Loading } from '../../_components/ui';

/** A 30-minute sparkline; the numbers are in the table's cells beside it (the SVG is decoration). */
function Spark({ values }: { values: number[] }) {
  const max = Math.max(1, ...values);
  const points = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * 100},${20 - (v / max) * 18}`).join(' ');
  return (
    <svg viewBox="0 0 100 20" className="h-5 w-24" aria-hidden="true" preserveAspectRatio="none">
      <polyline points={points} fill="none" stroke="#404040" strokeWidth="1.5" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

export function QueuesView({ canManage }: { canManage: boolean }) {
  const t = useTranslations('monitoring.queues');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const overview = useQuery({ ...trpc.admin.queues.overview.queryOptions(), refetchInterval: 10_000 });
  const dead = useQuery({ ...trpc.admin.queues.deadLetters.queryOptions(), refetchInterval: 10_000 });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<{ tone: 'red' | 'green'; text: string } | null>(null);
  const after = {
    onSuccess: (r: { retried?: number; discarded?: number }) => {
      setMessage({ tone: 'green', text: t('done', { count: r.retried ?? r.discarded ?? 0 }) });
      setSelected(new Set());
      void qc.invalidateQueries({ queryKey: trpc.admin.queues.deadLetters.queryKey() });
      void qc.invalidateQueries({ queryKey: trpc.admin.queues.overview.queryKey() });
    },
    onError: (e: { message: string }) => setMessage({ tone: 'red', text: e.message }),
  };
  const retry = useMutation(trpc.admin.queues.retry.mutationOptions(after));
  const discard = useMutation(trpc.admin.queues.discard.mutationOptions(after));
  const secs = (v: number | null) => (v == null ? '—' : t('seconds', { value: v }));
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <p className="text-sm text-neutral-600">
        {t('help')} {/* A full page load: the raw view is pg-boss's own app, outside ours. */}
        <a className="underline" href="/admin/pgboss">
          {t('raw')}
        </a>
      </p>
      {overview.isPending ? (
        <Loading label={ta('loading')} />
      ) : overview.isError ? (
        <ErrorState message={ta('error')} retry={() => void overview.refetch()} retryLabel={ta('retry')} />
      ) : (
        <div className="overflow-x-auto rounded-lg border border-neutral-200 bg-white">
          <table className="w-full text-left text-sm" data-testid="queue-table">
            <caption className="sr-only">{t('heading')}</caption>
            <thead className="bg-neutral-50 text-xs">
              <tr>
                {(['queue', 'ready', 'deferred', 'active', 'failed24h', 'oldest', 'throughput', 'p95', 'spark', 'policy'] as const).map((k) => (
                  <th key={k} scope="col" className="px-2 py-2">
                    {t(k)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {overview.data.map((q) => (
                <tr key={q.name} className="border-t border-neutral-100" data-testid="queue-row">
                  <th scope="row" className="px-2 py-1 font-mono text-xs font-normal">
                    {q.name}
                  </th>
                  <td className="px-2 py-1 tabular-nums">{q.ready}</td>
                  <td className="px-2 py-1 tabular-nums">{q.deferred}</td>
                  <td className="px-2 py-1 tabular-nums">{q.active}</td>
                  <td className="px-2 py-1 tabular-nums">{q.failed24h}</td>
                  <td className="px-2 py-1 tabular-nums">{secs(q.oldestReadySeconds)}</td>
                  <td className="px-2 py-1 tabular-nums">{q.throughputPerMinute}</td>
                  <td className="px-2 py-1 tabular-nums">{secs(q.p95RunSeconds)}</td>
                  <td className="px-2 py-1">
                    <Spark values={q.spark} />
                    <span className="sr-only">{q.spark.join(', ')}</span>
                  </td>
                  <td className="px-2 py-1 text-xs text-neutral-700">
                    {t('policyText', {
                      policy: q.policy.policy ?? '—',
                      retryLimit: q.policy.retryLimit ?? 0,
                      retryDelay: q.policy.retryDelay ?? 0,
                      backoff: q.policy.retryBackoff ? t('backoff') : '',
                      expire: q.policy.expireInSeconds ?? 0,
                      batch: q.policy.batchSize ?? '—',
                      concurrency: q.policy.concurrency,
                    })}
                    {q.policy.deadLetter ? <span className="block font-mono">→ {q.policy.deadLetter}</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Card title={t('deadHeading')}>
        {message ? (
          <Alert tone={message.tone} testId="queues-message">
            {message.text}
          </Alert>
        ) : null}
        {dead.isPending ? (
          <Loading label={ta('loading')} />
        ) : dead.isError ? (
          <ErrorState message={ta('error')} retry={() => void dead.refetch()} retryLabel={ta('retry')} />
        ) : dead.data.length === 0 ? (
          <EmptyState>{t('deadEmpty')}</EmptyState>
        ) : (
          <>
            {canManage ? (
              <div className="mb-3 flex flex-wrap items-end gap-2">
                <Field label={t('reason')} htmlFor="dead-reason" hint={t('reasonHelp')}>
                  <Input id="dead-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
                </Field>
                <Button
                  disabled={selected.size === 0 || retry.isPending}
                  onClick={() => retry.mutate({ ids: [...selected], reason: reason.trim() || undefined })}
                >
                  {t('retry')}
                </Button>
                <Button
                  variant="danger"
                  disabled={selected.size === 0 || reason.trim().length < 3 || discard.isPending}
                  onClick={() => discard.mutate({ ids: [...selected], reason })}
                >
                  {t('discard')}
                </Button>
              </div>
            ) : null}
            <div className="overflow-x-auto">
              <table className="w-full text-left text-sm" data-testid="dead-table">
                <caption className="sr-only">{t('deadHeading')}</caption>
                <thead className="text-xs">
                  <tr>
                    {canManage ? (
                      <th scope="col">
                        <input
                          type="checkbox"
                          className="h-6 w-6"
                          aria-label={t('selectAll')}
                          checked={selected.size === dead.data.length}
                          onChange={(e) => setSelected(e.target.checked ? new Set(dead.data.map((d) => d.id)) : new Set())}
                        />
                      </th>
                    ) : null}
                    <th scope="col">{t('source')}</th>
                    <th scope="col">{t('attempts')}</th>
                    <th scope="col">{t('lastError')}</th>
                    <th scope="col">{t('payload')}</th>
                    <th scope="col">{t('deadSince')}</th>
                    <th scope="col">{t('orderLink')}</th>
                  </tr>
                </thead>
                <tbody>
                  {dead.data.map((d) => (
                    <tr key={d.id} className="border-t border-neutral-100 align-top" data-testid="dead-row">
                      {canManage ? (
                        <td>
                          <input
                            type="checkbox"
                            className="h-6 w-6"
                            aria-label={`${t('select')} ${d.id}`}
                            checked={selected.has(d.id)}
                            onChange={() => toggle(d.id)}
                          />
                        </td>
                      ) : null}
                      <td className="font-mono text-xs">{d.sourceQueue ?? d.queue}</td>
                      <td className="tabular-nums">{d.attempts ?? '—'}</td>
                      <td className="max-w-xs break-words text-xs">{d.lastError ?? '—'}</td>
                      <td className="max-w-xs font-mono text-xs break-all">{JSON.stringify(d.payload)}</td>
                      <td>
                        <BeijingTime value={d.deadSince} />
                      </td>
                      <td>
                        {d.orderId ? (
                          <Link className="underline" href={`/admin/orders/${d.orderId}`}>
                            {t('orderLink')}
                          </Link>
                        ) : (
                          '—'
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </Card>
    </div>
  );
}
