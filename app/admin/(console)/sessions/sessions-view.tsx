'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslations } from 'next-intl';
import { useTRPC } from '@/app/_trpc/client';
import { BeijingTime } from '../../_components/time';
import { Badge, Button, Card, EmptyState, ErrorState, Loading } from '../../_components/ui';

export interface SessionRow {
  id: string;
  email: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  ipAddress: string | null;
  userAgent: string | null;
  current?: boolean;
}

export function SessionList({ rows, onRevoke, showUser, busy }: { rows: SessionRow[]; onRevoke: (id: string) => void; showUser?: boolean; busy?: boolean }) {
  const t = useTranslations('admin.sessions');
  const ta = useTranslations('admin');
  if (rows.length === 0) return <EmptyState>{t('empty')}</EmptyState>;
  return (
    <ul className="divide-y divide-neutral-100" data-testid="session-list">
      {rows.map((s) => (
        <li key={s.id} className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm" data-testid="session-row">
          <div className="min-w-0 space-y-0.5">
            {showUser ? <p className="font-medium">{s.email}</p> : null}
            <p className="truncate text-neutral-700" title={s.userAgent ?? ''}>
              {t('device')}: {s.userAgent ?? '—'} {s.current ? <Badge tone="green">{t('current')}</Badge> : null}
            </p>
            <p className="text-xs text-neutral-600">
              {t('ip')}: {s.ipAddress ?? '—'} · {t('created')}: <BeijingTime value={s.createdAt} /> · {t('lastUsed')}: <BeijingTime value={s.lastUsedAt} /> (
              {ta('beijingTime')})
            </p>
          </div>
          {!s.current ? (
            <Button variant="secondary" onClick={() => onRevoke(s.id)} disabled={busy}>
              {t('revoke')}
            </Button>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

export function SessionsView() {
  const t = useTranslations('admin.sessions');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const sessions = useQuery(trpc.admin.me.sessions.queryOptions());
  const revoke = useMutation(
    trpc.admin.me.revokeSession.mutationOptions({ onSettled: () => qc.invalidateQueries({ queryKey: trpc.admin.me.sessions.queryKey() }) }),
  );
  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <Card>
        <p className="mb-3 text-sm text-neutral-600">{t('help')}</p>
        {sessions.isPending ? (
          <Loading label={ta('loading')} />
        ) : sessions.isError ? (
          <ErrorState message={ta('error')} retry={() => void sessions.refetch()} retryLabel={ta('retry')} />
        ) : (
          <SessionList rows={sessions.data} onRevoke={(id) => revoke.mutate({ sessionId: id })} busy={revoke.isPending} />
        )}
      </Card>
    </div>
  );
}
