'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import { useTranslations } from 'next-intl';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { ROLES, type Role } from '@/server/auth/permissions';
import { useStepUp } from '../../_components/step-up';
import { BeijingTime, Money } from '../../_components/time';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Loading, Select } from '../../_components/ui';
import { SessionList } from '../sessions/sessions-view';

export function UsersView({ canManage, myId }: { canManage: boolean; myId: string }) {
  const t = useTranslations('admin.users');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { run, dialog } = useStepUp();
  const [message, setMessage] = useState<{ tone: 'green' | 'red'; text: string } | null>(null);
  const users = useQuery(trpc.admin.users.list.queryOptions());
  const sessions = useQuery(trpc.admin.users.sessions.queryOptions());
  const limits = useQuery(trpc.admin.users.limits.queryOptions());
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: trpc.admin.users.list.queryKey() });
    void qc.invalidateQueries({ queryKey: trpc.admin.users.sessions.queryKey() });
  };
  const opts = { onSuccess: refresh, onError: (e: unknown) => setMessage({ tone: 'red', text: e instanceof TRPCClientError ? e.message : ta('error') }) };
  const create = useMutation(trpc.admin.users.create.mutationOptions());
  const changeRole = useMutation(trpc.admin.users.changeRole.mutationOptions());
  const setActive = useMutation(trpc.admin.users.setActive.mutationOptions());
  const revoke = useMutation(trpc.admin.users.revokeSession.mutationOptions({ onSuccess: refresh }));

  const act = (fn: () => Promise<unknown>) =>
    run(async () => {
      await fn();
      refresh();
    }).catch(opts.onError);

  function onCreate(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const d = new FormData(form);
    const input = {
      email: String(d.get('email')),
      name: String(d.get('name') || '') || undefined,
      role: String(d.get('role')) as Role,
      password: String(d.get('password')),
    };
    setMessage(null);
    void act(async () => {
      await create.mutateAsync(input);
      setMessage({ tone: 'green', text: t('created', { email: input.email }) });
      form.reset();
    });
  }

  return (
    <div className="space-y-4">
      {dialog}
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      {message ? <Alert tone={message.tone}>{message.text}</Alert> : null}
      {canManage ? (
        <Card title={t('create')}>
          <form onSubmit={onCreate} className="grid gap-3 sm:grid-cols-2 lg:grid-cols-5 lg:items-end">
            <Field label={t('email')} htmlFor="new-email">
              <Input id="new-email" name="email" type="email" required autoComplete="off" />
            </Field>
            <Field label={t('name')} htmlFor="new-name">
              <Input id="new-name" name="name" autoComplete="off" />
            </Field>
            <Field label={t('role')} htmlFor="new-role">
              <Select id="new-role" name="role" defaultValue="viewer">
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {ta(`roles.${r}`)}
                  </option>
                ))}
              </Select>
            </Field>
            <Field label={t('password')} htmlFor="new-password">
              <Input id="new-password" name="password" type="password" minLength={12} required autoComplete="new-password" />
            </Field>
            <Button type="submit" disabled={create.isPending}>
              {t('save')}
            </Button>
          </form>
        </Card>
      ) : null}
      <Card>
        {users.isPending ? (
          <Loading label={ta('loading')} />
        ) : users.isError ? (
          <ErrorState message={ta('error')} retry={() => void users.refetch()} retryLabel={ta('retry')} />
        ) : users.data.length === 0 ? (
          <EmptyState>{t('empty')}</EmptyState>
        ) : (
          <ul className="divide-y divide-neutral-100" data-testid="users">
            {users.data.map((u) => (
              <li key={u.id} className="flex flex-wrap items-center justify-between gap-3 py-2 text-sm" data-testid="user-row">
                <div className="space-y-0.5">
                  <p className="font-medium">
                    {u.email} <span className="text-neutral-600">({u.name})</span>
                  </p>
                  <p className="flex flex-wrap items-center gap-2 text-xs text-neutral-600">
                    <Badge tone={u.active ? 'green' : 'neutral'}>{u.active ? t('active') : t('inactive')}</Badge>
                    <span>
                      {t('twoFactor')}: {u.twoFactorEnabled ? t('on') : t('off')}
                    </span>
                    <span>
                      {t('lastSeen')}: <BeijingTime value={u.lastSeenAt} />
                    </span>
                  </p>
                </div>
                {canManage && u.id !== myId ? (
                  <div className="flex flex-wrap items-center gap-2">
                    <label className="sr-only" htmlFor={`role-${u.id}`}>
                      {t('changeRole')}
                    </label>
                    <Select
                      id={`role-${u.id}`}
                      className="w-auto"
                      value={u.role}
                      onChange={(e) => void act(() => changeRole.mutateAsync({ userId: u.id, role: e.target.value as Role }))}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {ta(`roles.${r}`)}
                        </option>
                      ))}
                    </Select>
                    <Button
                      variant={u.active ? 'danger' : 'secondary'}
                      onClick={() => void act(() => setActive.mutateAsync({ userId: u.id, active: !u.active }))}
                    >
                      {u.active ? t('deactivate') : t('reactivate')}
                    </Button>
                  </div>
                ) : (
                  <Badge>{ta(`roles.${u.role}`)}</Badge>
                )}
              </li>
            ))}
          </ul>
        )}
      </Card>
      <Card title={t('sessionsHeading')}>
        {sessions.isPending ? (
          <Loading label={ta('loading')} />
        ) : sessions.isError ? (
          <ErrorState message={ta('error')} retry={() => void sessions.refetch()} retryLabel={ta('retry')} />
        ) : (
          <SessionList
            rows={sessions.data}
            showUser
            onRevoke={(id) => (canManage ? revoke.mutate({ sessionId: id }) : undefined)}
            busy={revoke.isPending || !canManage}
          />
        )}
      </Card>
      <Card title={t('limitsHeading')}>
        {limits.data ? (
          <table className="w-full text-left text-sm">
            <thead>
              <tr className="text-xs text-neutral-600">
                <th scope="col">{t('role')}</th>
                <th scope="col">{t('single')}</th>
                <th scope="col">{t('daily')}</th>
              </tr>
            </thead>
            <tbody>
              {limits.data.map((l) => (
                <tr key={l.role} className="border-t border-neutral-100">
                  <td className="py-1">{ta(`roles.${l.role}`)}</td>
                  <td>{l.singleRefundMaxFen === null ? t('unlimited') : <Money fen={l.singleRefundMaxFen} />}</td>
                  <td>{l.dailyRefundMaxFen === null ? t('unlimited') : <Money fen={l.dailyRefundMaxFen} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : limits.isError ? null : (
          <Loading label={ta('loading')} />
        )}
      </Card>
    </div>
  );
}
