'use client';
// "Export CSV" of the filtered audit log: the console.export job writes the file; this polls its progress
// and offers the expiring link (the same machinery as the orders export).
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import { useState } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import type { AuditLogFilter } from '@/server/console/audit-log';
import { useStepUp } from '../../_components/step-up';
import { Alert, Button } from '../../_components/ui';

export function AuditExportButton({ filter, disabled }: { filter: AuditLogFilter; disabled?: boolean }) {
  const t = useTranslations('admin.orders');
  const tf = useTranslations('consoleMore.audit');
  const trpc = useTRPC();
  const { run, dialog } = useStepUp();
  const [id, setId] = useState<string | null>(null);
  const create = useMutation(trpc.admin.audit.export.mutationOptions());
  const job = useQuery({
    ...trpc.admin.exports.get.queryOptions({ id: id ?? '00000000-0000-0000-0000-000000000000' }),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'done' || q.state.data.status === 'failed') ? false : 1000),
  });
  const d = job.data;
  const running = d !== undefined && d.status !== 'done' && d.status !== 'failed';
  const pct = d?.rowsTotal ? Math.round((100 * d.rowsDone) / d.rowsTotal) : 0;
  return (
    <>
      {dialog}
      <Button
        variant="secondary"
        data-testid="audit-export"
        disabled={disabled || create.isPending || running}
        onClick={() => void run(async () => setId((await create.mutateAsync({ filter })).id))}
      >
        {tf('export')}
      </Button>
      <span className="flex flex-wrap items-center gap-2 text-sm" aria-live="polite">
        {running ? (
          <>
            <progress max={100} value={pct} aria-label={t('exportProgress')} className="h-2 w-32" />
            {d.status === 'queued' ? t('exportQueued') : t('exporting', { done: d.rowsDone, total: d.rowsTotal ?? 0 })}
          </>
        ) : null}
        {d?.status === 'done' ? (
          <span data-testid="audit-export-done">
            {t('exportDone', { count: d.rowsDone })}{' '}
            <a href={`/api/admin/exports/${d.id}`} className="font-medium text-blue-800 underline" data-testid="audit-export-download">
              {t('download')}
            </a>
          </span>
        ) : null}
      </span>
      {d?.status === 'failed' ? <Alert>{d.error?.startsWith('ROW_CAP') ? tf('exportCap') : t('exportFailed', { error: d.error ?? '' })}</Alert> : null}
    </>
  );
}
