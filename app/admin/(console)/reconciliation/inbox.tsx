'use client';
// Discrepancies with both sides, the proposed fix and what an automatic repair did; a person settles an
// open one with a reason (audited on the server).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useTranslations } from 'next-intl';
import { type FormEvent, useState } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { DISCREPANCY_CLASSES, DISCREPANCY_STATES, type DiscrepancyClass, type DiscrepancyState, FORCE_POSTABLE_CLASSES } from '@/server/reconciliation/classes';
import { useStepUp } from '../../_components/step-up';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Loading, Select } from '../../_components/ui';

type Action = 'received' | 'ignore' | 'force_post';
const TONE = { open: 'red', auto_resolved: 'green', received: 'blue', ignored: 'neutral', force_posted: 'amber' } as const;

function Side({ value }: { value: unknown }) {
  return <pre className="max-w-xs whitespace-pre-wrap break-all text-xs">{JSON.stringify(value, null, 1)}</pre>;
}

export function Inbox({ canManage }: { canManage: boolean }) {
  const t = useTranslations('reconciliation');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [filter, setFilter] = useState<{ class?: DiscrepancyClass; state?: DiscrepancyState; date?: string }>({});
  const [acting, setActing] = useState<{ id: string; action: Action } | null>(null);
  const [reason, setReason] = useState('');
  const list = useQuery(trpc.admin.reconciliation.inbox.queryOptions({ ...filter, limit: 100 }));
  const { run, dialog } = useStepUp();
  const done = {
    onSuccess: async () => {
      setActing(null);
      setReason('');
      await qc.invalidateQueries({ queryKey: trpc.admin.reconciliation.inbox.queryKey() });
    },
  };
  const decide = useMutation(trpc.admin.reconciliation.decide.mutationOptions(done));
  // Force-post books a payment: its own procedure, behind a fresh step-up.
  const forcePost = useMutation(trpc.admin.reconciliation.forcePost.mutationOptions(done));
  const actionsOf = (cls: string): Action[] =>
    (FORCE_POSTABLE_CLASSES as readonly string[]).includes(cls) ? ['received', 'ignore', 'force_post'] : ['received', 'ignore'];
  const pending = decide.isPending || forcePost.isPending;
  const failure = decide.error ?? forcePost.error;

  function apply(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const cls = String(f.get('class') ?? '');
    const state = String(f.get('state') ?? '');
    const date = String(f.get('date') ?? '');
    setFilter({
      class: (cls || undefined) as DiscrepancyClass | undefined,
      state: (state || undefined) as DiscrepancyState | undefined,
      date: date || undefined,
    });
  }

  return (
    <Card title={t('inboxTitle')}>
      {dialog}
      <form onSubmit={apply} className="mb-3 grid gap-2 sm:grid-cols-4" aria-label={t('inboxTitle')}>
        <Field label={t('filters.class')} htmlFor="f-class">
          <Select id="f-class" name="class" defaultValue="">
            <option value="">{t('filters.any')}</option>
            {DISCREPANCY_CLASSES.map((c) => (
              <option key={c} value={c}>
                {t(`classes.${c}`)}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t('filters.state')} htmlFor="f-state">
          <Select id="f-state" name="state" defaultValue="">
            <option value="">{t('filters.any')}</option>
            {DISCREPANCY_STATES.map((s) => (
              <option key={s} value={s}>
                {t(`states.${s}`)}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t('filters.date')} htmlFor="f-date">
          <Input id="f-date" name="date" type="date" />
        </Field>
        <div className="flex items-end">
          <Button type="submit" data-testid="inbox-apply">
            {t('filters.apply')}
          </Button>
        </div>
      </form>
      {list.isLoading ? <Loading label={t('loading')} /> : null}
      {list.error ? <ErrorState message={t('error', { error: list.error.message })} retry={() => void list.refetch()} retryLabel={t('retry')} /> : null}
      {list.data && list.data.length === 0 ? <EmptyState>{t('empty')}</EmptyState> : null}
      {list.data && list.data.length > 0 ? (
        <div
          className="overflow-x-auto"
          role="region"
          aria-label={t('inboxTitle')}
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a table wider than a phone scrolls; axe requires the region be reachable by keyboard
          tabIndex={0}
        >
          <table className="w-full text-left text-sm" data-testid="inbox-table">
            <thead>
              <tr className="border-b">
                {(['day', 'class', 'state', 'order', 'ours', 'bill', 'fix', 'repair', 'actions'] as const).map((c) => (
                  <th key={c} scope="col" className="px-2 py-2 font-medium">
                    {t(`cols.${c}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {list.data.map((d) => (
                <tr key={d.id} className="border-b align-top" data-testid="discrepancy-row" data-class={d.class} data-state={d.state}>
                  <td className="px-2 py-2 tabular-nums">{d.billDate}</td>
                  <td className="px-2 py-2">{t(`classes.${d.class as DiscrepancyClass}`)}</td>
                  <td className="px-2 py-2">
                    <Badge tone={TONE[d.state as DiscrepancyState] ?? 'neutral'}>{t(`states.${d.state as DiscrepancyState}`)}</Badge>
                  </td>
                  <td className="px-2 py-2">
                    {d.orderId ? (
                      <Link className="text-blue-800 underline" href={`/admin/orders/${d.orderId}`}>
                        {d.outTradeNo}
                      </Link>
                    ) : (
                      <span>{d.outTradeNo ?? '—'}</span>
                    )}
                  </td>
                  <td className="px-2 py-2">
                    <Side value={d.ours} />
                  </td>
                  <td className="px-2 py-2">
                    <Side value={d.bill} />
                  </td>
                  <td className="px-2 py-2">{t(`fixes.${d.proposedFix}` as 'fixes.adopt_billed_fee')}</td>
                  <td className="px-2 py-2">{d.resolution ? <Side value={d.resolution} /> : d.reason ? <span>{d.reason}</span> : '—'}</td>
                  <td className="px-2 py-2">
                    {canManage && d.state === 'open' ? (
                      <div className="flex flex-col gap-1">
                        {actionsOf(d.class).map((a) => (
                          <Button
                            key={a}
                            variant={a === 'force_post' ? 'danger' : 'secondary'}
                            data-testid={`act-${a}`}
                            onClick={() => setActing({ id: d.id, action: a })}
                          >
                            {t(`actions.${a}`)}
                          </Button>
                        ))}
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {acting ? (
        <form
          className="mt-3 flex flex-wrap items-end gap-2 rounded-md border border-neutral-300 p-3"
          onSubmit={(e) => {
            e.preventDefault();
            const { id, action } = acting;
            if (action === 'force_post') void run(() => forcePost.mutateAsync({ id, reason }));
            else decide.mutate({ id, action, reason });
          }}
        >
          <Field label={`${t(`actions.${acting.action}`)} — ${t('actions.reason')}`} htmlFor="decide-reason">
            <Input id="decide-reason" data-testid="decide-reason" required minLength={3} value={reason} onChange={(e) => setReason(e.target.value)} />
          </Field>
          <Button type="submit" data-testid="decide-confirm" disabled={pending || reason.trim().length < 3}>
            {t('actions.confirm')}
          </Button>
          <Button variant="ghost" onClick={() => setActing(null)}>
            {t('actions.cancel')}
          </Button>
          {failure && failure.data?.code !== 'PRECONDITION_FAILED' ? <Alert>{failure.message}</Alert> : null}
        </form>
      ) : null}
    </Card>
  );
}
