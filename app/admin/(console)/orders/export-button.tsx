'use client';
// "Export CSV" of the current filter: a job writes the file; this polls its progress and offers the link.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import { useState } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import type { OrdersFilter } from '@/server/console/orders';
import { useStepUp } from '../../_components/step-up';
import { Alert, Button } from '../../_components/ui';

export function ExportButton({ filter }: { filter: OrdersFilter }) {
  const t = useTranslations('admin.orders');
  const trpc = useTRPC();
  const { run, dialog } = useStepUp();
  const [id, setId] = useState<string | null>(null);
  const create = useMutation(trpc.admin.exports.createOrders.mutationOptions());
  const job = useQuery({
    ...trpc.admin.exports.get.queryOptions({ id: id ?? '00000000-0000-0000-0000-000000000000' }),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'done' || q.state.data.status === 'failed') ? false : 1000),
  });
  const d = job.data;
  const pct = d?.rowsTotal ? Math.round((100 * d.rowsDone) / d.rowsTotal) : 0;
  return (
    <div className="flex flex-wrap items-center gap-2">
      {dialog}
      <Button
        variant="secondary"
        data-testid="export"
        disabled={create.isPending || (d !== undefined && d.status !== 'done' && d.status !== 'failed')}
        onClick={() => void run(async () => setId((await create.mutateAsync({ filter })).id))}
      >
        {t('export')}
      </Button>
      {d && d.status !== 'done' && d.status !== 'failed' ? (
        <span className="flex items-center gap-2 text-sm">
          <progress max={100} value={pct} aria-label={t('exportProgress')} className="h-2 w-32" />
          {d.status === 'queued' ? t('exportQueued') : t('exporting', { done: d.rowsDone, total: d.rowsTotal ?? 0 })}
        </span>
      ) : null}
      {d?.status === 'done' ? (
        <span className="flex items-center gap-2 text-sm" data-testid="export-done">
          {t('exportDone', { count: d.rowsDone })}
          <a href={`/api/admin/exports/${d.id}`} className="font-medium text-blue-800 underline" data-testid="export-download">
            {t('download')}
          </a>
        </span>
      ) : null}
      {d?.status === 'failed' ? <Alert>{d.error?.startsWith('ROW_CAP') ? t('exportCap') : t('exportFailed', { error: d.error ?? '' })}</Alert> : null}
    </div>
  );
}
