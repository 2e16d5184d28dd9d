'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { BeijingTime } from '../../_components/time';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Loading } from '../../_components/ui';

const THRESHOLD_KEYS = [
  'refundProcessingMinutes',
  'inboxUnprocessedMinutes',
  'notifySilenceMinutes',
  'oldestReadyMinutes',
  'failureRatePercent',
  'failureRateMinRuns',
  'endpointFailingMinutes',
  'billDeadlineHour',
] as const;

export function AlertsView({ canManage, canConfigure }: { canManage: boolean; canConfigure: boolean }) {
  const t = useTranslations('monitoring.alerts');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery({ ...trpc.admin.alerts.list.queryOptions(), refetchInterval: 30_000 });
  const thresholds = useQuery(trpc.admin.alerts.thresholds.queryOptions());
  const [notes, setNotes] = useState<Record<number, string>>({});
  const [message, setMessage] = useState<{ tone: 'red' | 'green'; text: string } | null>(null);
  const onDone = {
    onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.admin.alerts.list.queryKey() }),
    onError: (e: { message: string }) => setMessage({ tone: 'red', text: t('failed', { message: e.message }) }),
  };
  const ack = useMutation(trpc.admin.alerts.acknowledge.mutationOptions(onDone));
  const resolve = useMutation(trpc.admin.alerts.resolve.mutationOptions(onDone));
  const save = useMutation(
    trpc.admin.alerts.setThresholds.mutationOptions({
      onSuccess: () => {
        setMessage({ tone: 'green', text: t('saved') });
        void qc.invalidateQueries({ queryKey: trpc.admin.alerts.thresholds.queryKey() });
      },
      onError: (e) => setMessage({ tone: 'red', text: t('failed', { message: e.message }) }),
    }),
  );

  function onSave(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const next = Object.fromEntries(THRESHOLD_KEYS.map((k) => [k, Number(d.get(k))])) as Record<(typeof THRESHOLD_KEYS)[number], number>;
    save.mutate({ thresholds: next });
  }

  const tone = (s: string) => (s === 'open' ? 'red' : s === 'acknowledged' ? 'amber' : 'green');
  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <p className="text-sm text-neutral-600">{t('help')}</p>
      {message ? (
        <Alert tone={message.tone} testId="alerts-message">
          {message.text}
        </Alert>
      ) : null}
      {list.isPending ? (
        <Loading label={ta('loading')} />
      ) : list.isError ? (
        <ErrorState message={ta('error')} retry={() => void list.refetch()} retryLabel={ta('retry')} />
      ) : list.data.length === 0 ? (
        <EmptyState>{t('empty')}</EmptyState>
      ) : (
        <ul className="space-y-2" data-testid="alert-list">
          {list.data.map((a) => (
            <li key={a.id} className="rounded-lg border border-neutral-200 bg-white p-3 text-sm" data-testid="alert-item">
              <div className="flex flex-wrap items-center gap-2">
                <Badge tone={tone(a.state)}>{t(a.state as 'open')}</Badge>
                <span className="font-mono text-xs">{a.kind}</span>
                <BeijingTime value={a.createdAt} withLabel />
                {a.orderId ? (
                  <Link className="underline" href={`/admin/orders/${a.orderId}`}>
                    {t('order')}
                  </Link>
                ) : null}
              </div>
              <p className="mt-1">{a.message}</p>
              {canManage && a.state !== 'resolved' ? (
                <div className="mt-2 flex flex-wrap items-end gap-2">
                  <Field label={t('note')} htmlFor={`note-${a.id}`}>
                    <Input id={`note-${a.id}`} value={notes[a.id] ?? ''} maxLength={500} onChange={(e) => setNotes({ ...notes, [a.id]: e.target.value })} />
                  </Field>
                  {a.state === 'open' ? (
                    <Button variant="secondary" onClick={() => ack.mutate({ id: a.id, note: notes[a.id] || undefined })}>
                      {t('acknowledge')}
                    </Button>
                  ) : null}
                  <Button variant="secondary" onClick={() => resolve.mutate({ id: a.id, note: notes[a.id] || undefined })}>
                    {t('resolve')}
                  </Button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <Card title={t('thresholds')}>
        <p className="mb-2 text-xs text-neutral-600">{t('thresholdsHelp')}</p>
        {thresholds.data ? (
          <form onSubmit={onSave} className="grid gap-3 sm:grid-cols-3 sm:items-end">
            {THRESHOLD_KEYS.map((k) => (
              <Field key={k} label={t(k)} htmlFor={k}>
                <Input
                  id={k}
                  name={k}
                  type="number"
                  min={k === 'billDeadlineHour' ? 0 : 1}
                  max={k === 'billDeadlineHour' ? 23 : undefined}
                  step={k === 'failureRatePercent' ? 0.1 : 1}
                  defaultValue={thresholds.data[k]}
                  disabled={!canConfigure}
                  required
                />
              </Field>
            ))}
            {canConfigure ? (
              <Button type="submit" disabled={save.isPending}>
                {t('save')}
              </Button>
            ) : null}
          </form>
        ) : null}
      </Card>
    </div>
  );
}
