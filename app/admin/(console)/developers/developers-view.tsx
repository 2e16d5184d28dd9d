'use client';
// API keys, webhook endpoints and the delivery log. A secret is shown once, right after it is made.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import Link from 'next/link';
import { useTranslations } from 'next-intl';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { API_SCOPES, type ApiScope } from '@/server/api-keys/scopes';
import { EVENT_TYPES, type EventType } from '@/server/outbox/events';
import { useStepUp } from '../../_components/step-up';
import { BeijingTime } from '../../_components/time';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Loading } from '../../_components/ui';

interface Props {
  canViewKeys: boolean;
  canManageKeys: boolean;
  canViewWebhooks: boolean;
  canManageWebhooks: boolean;
}

export function DevelopersView(p: Props) {
  const t = useTranslations('developers');
  const ta = useTranslations('admin');
  const { run, dialog } = useStepUp();
  const [message, setMessage] = useState<{ tone: 'green' | 'red'; text: string } | null>(null);
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const fail = (e: unknown) => setMessage({ tone: 'red', text: e instanceof TRPCClientError ? e.message : ta('error') });
  const act = (fn: () => Promise<unknown>) => run(fn).catch(fail);
  return (
    <div className="space-y-4">
      {dialog}
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-xl font-semibold">{t('heading')}</h1>
        <Link href="/admin/developers/api" className="text-sm font-medium text-emerald-800 underline">
          {t('apiReference')}
        </Link>
      </div>
      {message ? <Alert tone={message.tone}>{message.text}</Alert> : null}
      {secret ? (
        <Alert tone="amber" testId="secret-once">
          <p className="font-medium">{secret.label}</p>
          <code className="mt-1 block break-all font-mono text-sm" data-testid="secret-value">
            {secret.value}
          </code>
          <p className="mt-1 text-xs">{t('secretOnce')}</p>
        </Alert>
      ) : null}
      {p.canViewKeys ? <KeysCard canManage={p.canManageKeys} act={act} onSecret={setSecret} onMessage={setMessage} /> : null}
      {p.canViewWebhooks ? <EndpointsCard canManage={p.canManageWebhooks} act={act} onSecret={setSecret} onMessage={setMessage} /> : null}
      {p.canViewWebhooks ? <AttemptsCard /> : null}
    </div>
  );
}

type Act = (fn: () => Promise<unknown>) => Promise<unknown>;
type OnSecret = (s: { label: string; value: string }) => void;
type OnMessage = (m: { tone: 'green' | 'red'; text: string }) => void;

function KeysCard({ canManage, act, onSecret, onMessage }: { canManage: boolean; act: Act; onSecret: OnSecret; onMessage: OnMessage }) {
  const t = useTranslations('developers');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const keys = useQuery(trpc.admin.developers.keys.queryOptions());
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.admin.developers.keys.queryKey() });
  const create = useMutation(trpc.admin.developers.createKey.mutationOptions());
  const roll = useMutation(trpc.admin.developers.rollKey.mutationOptions());
  const revoke = useMutation(trpc.admin.developers.revokeKey.mutationOptions());

  function onCreate(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const d = new FormData(form);
    const scopes = API_SCOPES.filter((s) => d.get(`scope-${s}`) === 'on') as ApiScope[];
    const days = String(d.get('expires') || '');
    if (scopes.length === 0) return onMessage({ tone: 'red', text: t('keys.noScope') });
    void act(async () => {
      const made = await create.mutateAsync({ name: String(d.get('name')), scopes, expiresInDays: days ? Number(days) : null });
      onSecret({ label: t('keys.created', { name: made.key.name }), value: made.secret });
      form.reset();
      refresh();
    });
  }

  const now = Date.now();
  return (
    <Card title={t('keys.heading')}>
      {canManage ? (
        <form onSubmit={onCreate} className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-4 lg:items-end" aria-label={t('keys.create')}>
          <Field label={t('keys.name')} htmlFor="key-name">
            <Input id="key-name" name="name" required maxLength={100} autoComplete="off" />
          </Field>
          <fieldset className="text-sm">
            <legend className="mb-1 font-medium">{t('keys.scopes')}</legend>
            {API_SCOPES.map((s) => (
              <label key={s} className="mr-3 inline-flex items-center gap-1">
                <input type="checkbox" className="size-6" name={`scope-${s}`} defaultChecked={s === 'orders:read'} /> <code>{s}</code>
              </label>
            ))}
          </fieldset>
          <Field label={t('keys.expiresInDays')} htmlFor="key-expires" hint={t('keys.expiresHint')}>
            <Input id="key-expires" name="expires" type="number" min={1} max={3650} />
          </Field>
          <Button type="submit" disabled={create.isPending}>
            {t('keys.create')}
          </Button>
        </form>
      ) : null}
      {keys.isPending ? (
        <Loading label={ta('loading')} />
      ) : keys.isError ? (
        <ErrorState message={ta('error')} retry={() => void keys.refetch()} retryLabel={ta('retry')} />
      ) : keys.data.length === 0 ? (
        <EmptyState>{t('keys.empty')}</EmptyState>
      ) : (
        <ul className="divide-y divide-neutral-100" data-testid="api-keys">
          {keys.data.map((k) => {
            const expired = k.expiresAt !== null && new Date(k.expiresAt).getTime() <= now;
            const state = k.revokedAt ? 'revoked' : expired ? 'expired' : 'active';
            return (
              <li key={k.id} className="flex flex-wrap items-center justify-between gap-3 py-2 text-sm" data-testid="api-key-row">
                <div className="space-y-0.5">
                  <p className="font-medium">
                    {k.name} <code className="text-neutral-600">{k.prefix}…</code>{' '}
                    <Badge tone={state === 'active' ? 'green' : 'neutral'}>{t(`keys.state.${state}`)}</Badge>
                  </p>
                  <p className="text-xs text-neutral-600">
                    {k.scopes.join(', ')} · {t('keys.expires')}: {k.expiresAt ? <BeijingTime value={k.expiresAt} /> : t('keys.never')} · {t('keys.lastUsed')}:{' '}
                    {k.lastUsedAt ? (
                      <>
                        <BeijingTime value={k.lastUsedAt} /> ({k.lastUsedIp ?? '—'})
                      </>
                    ) : (
                      t('keys.never')
                    )}
                  </p>
                </div>
                {canManage && state === 'active' ? (
                  <div className="flex gap-2">
                    <Button
                      variant="secondary"
                      onClick={() =>
                        void act(async () => {
                          const r = await roll.mutateAsync({ id: k.id });
                          onSecret({ label: t('keys.rolled', { name: r.key.name }), value: r.secret });
                          refresh();
                        })
                      }
                    >
                      {t('keys.roll')}
                    </Button>
                    <Button
                      variant="danger"
                      onClick={() =>
                        void act(async () => {
                          await revoke.mutateAsync({ id: k.id });
                          refresh();
                        })
                      }
                    >
                      {t('keys.revoke')}
                    </Button>
                  </div>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </Card>
  );
}

function EndpointsCard({ canManage, act, onSecret, onMessage }: { canManage: boolean; act: Act; onSecret: OnSecret; onMessage: OnMessage }) {
  const t = useTranslations('developers');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const endpoints = useQuery(trpc.admin.developers.endpoints.queryOptions());
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: trpc.admin.developers.endpoints.queryKey() });
    void qc.invalidateQueries({ queryKey: trpc.admin.developers.attempts.queryKey() });
  };
  const create = useMutation(trpc.admin.developers.createEndpoint.mutationOptions());
  const update = useMutation(trpc.admin.developers.updateEndpoint.mutationOptions());
  const remove = useMutation(trpc.admin.developers.deleteEndpoint.mutationOptions());
  const rotate = useMutation(trpc.admin.developers.rotateSecret.mutationOptions());
  const test = useMutation(trpc.admin.developers.testEndpoint.mutationOptions());
  const recover = useMutation(trpc.admin.developers.recover.mutationOptions());

  function onCreate(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const d = new FormData(form);
    const events = EVENT_TYPES.filter((s) => d.get(`event-${s}`) === 'on') as EventType[];
    void act(async () => {
      const made = await create.mutateAsync({ url: String(d.get('url')), events, description: String(d.get('description') || '') || undefined });
      onSecret({ label: t('endpoints.created', { url: made.url }), value: made.secret! });
      form.reset();
      refresh();
    });
  }

  return (
    <Card title={t('endpoints.heading')}>
      {canManage ? (
        <form onSubmit={onCreate} className="mb-4 space-y-3" aria-label={t('endpoints.create')}>
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label={t('endpoints.url')} htmlFor="endpoint-url">
              <Input id="endpoint-url" name="url" type="url" required placeholder="https://erp.example.com/hooks/scanpay" />
            </Field>
            <Field label={t('endpoints.description')} htmlFor="endpoint-description">
              <Input id="endpoint-description" name="description" maxLength={500} />
            </Field>
          </div>
          <fieldset className="text-sm">
            <legend className="mb-1 font-medium">{t('endpoints.events')}</legend>
            {EVENT_TYPES.map((s) => (
              <label key={s} className="mr-3 inline-flex items-center gap-1">
                <input type="checkbox" className="size-6" name={`event-${s}`} /> <code>{s}</code>
              </label>
            ))}
            <p className="text-xs text-neutral-600">{t('endpoints.allEvents')}</p>
          </fieldset>
          <Button type="submit" disabled={create.isPending}>
            {t('endpoints.create')}
          </Button>
        </form>
      ) : null}
      {endpoints.isPending ? (
        <Loading label={ta('loading')} />
      ) : endpoints.isError ? (
        <ErrorState message={ta('error')} retry={() => void endpoints.refetch()} retryLabel={ta('retry')} />
      ) : endpoints.data.length === 0 ? (
        <EmptyState>{t('endpoints.empty')}</EmptyState>
      ) : (
        <ul className="divide-y divide-neutral-100" data-testid="webhook-endpoints">
          {endpoints.data.map((e) => (
            <li key={e.id} className="space-y-1 py-2 text-sm" data-testid="endpoint-row">
              <p className="font-medium">
                <code className="break-all">{e.url}</code>{' '}
                <Badge tone={e.disabled ? 'neutral' : 'green'}>{e.disabled ? t('endpoints.disabled') : t('endpoints.enabled')}</Badge>
              </p>
              <p className="text-xs text-neutral-600">
                {e.events.length ? e.events.join(', ') : t('endpoints.allEventsShort')}
                {e.disabledReason ? ` · ${e.disabledReason}` : ''}
              </p>
              <p className="text-xs text-neutral-700" data-testid="endpoint-health">
                {t('endpoints.health', {
                  attempts: e.health.attempts24h,
                  rate: e.health.successRate24h === null ? '—' : `${Math.round(e.health.successRate24h * 100)}%`,
                  p95: e.health.p95LatencyMs24h ?? '—',
                })}
                {e.health.lastError ? ` · ${t('endpoints.lastError')}: ${e.health.lastError.status ?? e.health.lastError.error ?? ''}` : ''}
                {` · ${t('endpoints.queue', { pending: e.health.pending, inFlight: e.health.inFlight })}`}
              </p>
              {canManage ? (
                <div className="flex flex-wrap gap-2">
                  <Button
                    variant="secondary"
                    disabled={e.disabled}
                    onClick={() =>
                      void act(async () => {
                        await test.mutateAsync({ id: e.id });
                        onMessage({ tone: 'green', text: t('endpoints.testSent') });
                        refresh();
                      })
                    }
                  >
                    {t('endpoints.test')}
                  </Button>
                  <Button
                    variant="secondary"
                    disabled={e.disabled}
                    onClick={() =>
                      void act(async () => {
                        const r = await recover.mutateAsync({ id: e.id, since: new Date(Date.now() - 86_400_000) });
                        onMessage({ tone: 'green', text: t('endpoints.recoverStarted', { id: r.id }) });
                      })
                    }
                  >
                    {t('endpoints.recover')}
                  </Button>
                  <Button
                    variant="secondary"
                    onClick={() =>
                      void act(async () => {
                        const r = await rotate.mutateAsync({ id: e.id });
                        onSecret({ label: t('endpoints.rotated', { url: r.url }), value: r.secret! });
                        refresh();
                      })
                    }
                  >
                    {t('endpoints.rotate')}
                  </Button>
                  <Button
                    variant="secondary"
                    onClick={() =>
                      void act(async () => {
                        await update.mutateAsync({ id: e.id, patch: { disabled: !e.disabled } });
                        refresh();
                      })
                    }
                  >
                    {e.disabled ? t('endpoints.enable') : t('endpoints.disable')}
                  </Button>
                  <Button
                    variant="danger"
                    onClick={() =>
                      void act(async () => {
                        await remove.mutateAsync({ id: e.id });
                        refresh();
                      })
                    }
                  >
                    {t('endpoints.delete')}
                  </Button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function AttemptsCard() {
  const t = useTranslations('developers');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const attempts = useQuery(trpc.admin.developers.attempts.queryOptions({ limit: 50 }));
  return (
    <Card title={t('attempts.heading')}>
      {attempts.isPending ? (
        <Loading label={ta('loading')} />
      ) : attempts.isError ? (
        <ErrorState message={ta('error')} retry={() => void attempts.refetch()} retryLabel={ta('retry')} />
      ) : attempts.data.length === 0 ? (
        <EmptyState>{t('attempts.empty')}</EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="webhook-attempts">
            <thead>
              <tr className="text-xs text-neutral-600">
                <th scope="col">{t('attempts.at')}</th>
                <th scope="col">{t('attempts.event')}</th>
                <th scope="col">{t('attempts.endpoint')}</th>
                <th scope="col">{t('attempts.attempt')}</th>
                <th scope="col">{t('attempts.status')}</th>
                <th scope="col">{t('attempts.latency')}</th>
                <th scope="col">{t('attempts.outcome')}</th>
              </tr>
            </thead>
            <tbody>
              {attempts.data.map((a) => (
                <tr key={a.id} className="border-t border-neutral-100 align-top">
                  <td className="py-1">
                    <BeijingTime value={a.at} />
                  </td>
                  <td>
                    <details>
                      <summary className="cursor-pointer font-mono text-xs">{a.messageId}</summary>
                      <pre className="max-w-md overflow-x-auto whitespace-pre-wrap break-all text-xs">{JSON.stringify(a.requestHeaders, null, 1)}</pre>
                      <pre className="max-w-md overflow-x-auto whitespace-pre-wrap break-all text-xs">{a.requestBody}</pre>
                      {a.responseBody ? <pre className="max-w-md overflow-x-auto whitespace-pre-wrap break-all text-xs">{a.responseBody}</pre> : null}
                    </details>
                  </td>
                  <td className="break-all text-xs">{a.url}</td>
                  <td>{a.attempt}</td>
                  <td>{a.status ?? a.error ?? '—'}</td>
                  <td>{a.latencyMs} ms</td>
                  <td>
                    <Badge tone={a.outcome === 'succeeded' ? 'green' : 'neutral'}>{t(`attempts.outcomes.${a.outcome}` as 'attempts.outcomes.retry')}</Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
