'use client';
// A manual run over a day or a range (≤ 3 months): a job reconciles day by day; this polls its progress.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import { useState } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { Alert, Button, Card, Field, Input } from '../../_components/ui';

export function RunPanel() {
  const t = useTranslations('reconciliation');
  const trpc = useTRPC();
  const [id, setId] = useState<string | null>(null);
  const start = useMutation(trpc.admin.reconciliation.startRun.mutationOptions({ onSuccess: (r) => setId(r.id) }));
  const run = useQuery({
    ...trpc.admin.reconciliation.run.queryOptions({ id: id ?? '00000000-0000-0000-0000-000000000000' }),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data?.status === 'done' ? false : 1000),
  });
  const d = run.data;
  return (
    <Card title={t('run.title')}>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const from = String(f.get('from') ?? '');
          start.mutate({ from, to: String(f.get('to') || from) });
        }}
      >
        <Field label={t('run.from')} htmlFor="run-from">
          <Input id="run-from" name="from" type="date" required />
        </Field>
        <Field label={t('run.to')} htmlFor="run-to">
          <Input id="run-to" name="to" type="date" />
        </Field>
        <Button type="submit" data-testid="run-start" disabled={start.isPending}>
          {t('run.start')}
        </Button>
      </form>
      {start.error ? <Alert>{start.error.message}</Alert> : null}
      {d ? (
        <p className="mt-2 flex items-center gap-2 text-sm" data-testid="run-progress">
          <progress max={d.daysTotal} value={d.daysDone} aria-label={t('run.progress')} className="h-2 w-40" />
          {d.status === 'done' ? t('run.done', { total: d.daysTotal }) : t('run.running', { done: d.daysDone, total: d.daysTotal })}
        </p>
      ) : null}
    </Card>
  );
}
