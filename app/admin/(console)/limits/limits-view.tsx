'use client';
// Refund limits per role (single refund, Beijing-day total), edited by owners and admins with step-up and
// a reason; only owners change the owner and admin rows (server/auth/limits.ts says why).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import { useTranslations } from 'next-intl';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import type { Role } from '@/server/auth/permissions';
import { fenToYuanText, yuanToFen } from '@/server/money-text';
import { useStepUp } from '../../_components/step-up';
import { Money } from '../../_components/time';
import { Alert, Button, Card, ErrorState, Field, Input, Loading } from '../../_components/ui';

const SERVER_ERRORS = ['LIMITS_OWNER_ONLY', 'LIMITS_SINGLE_ABOVE_DAILY', 'REASON_REQUIRED'] as const;

export function LimitsView({ canManage, isOwner }: { canManage: boolean; isOwner: boolean }) {
  const t = useTranslations('consoleMore.limits');
  const ta = useTranslations('admin');
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { run, dialog } = useStepUp();
  const limits = useQuery(trpc.admin.users.limits.queryOptions());
  const save = useMutation(trpc.admin.users.setLimits.mutationOptions());
  const [message, setMessage] = useState<{ tone: 'green' | 'red'; text: string } | null>(null);

  const explain = (err: unknown) => {
    if (!(err instanceof TRPCClientError)) return ta('error');
    const issues = (err.data as { zodIssues?: { message: string }[] } | undefined)?.zodIssues;
    const code = issues?.[0]?.message ?? err.message;
    return (SERVER_ERRORS as readonly string[]).includes(code) ? t(`errors.${code as (typeof SERVER_ERRORS)[number]}`) : err.message;
  };

  function onSave(role: Role, e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const d = new FormData(e.currentTarget);
    // Empty means "no limit"; anything else must be a plain yuan amount.
    const amount = (k: string): number | null | 'bad' => {
      const v = String(d.get(k) ?? '').trim();
      if (v === '') return null;
      return yuanToFen(v) ?? 'bad';
    };
    const single = amount('single');
    const daily = amount('daily');
    if (single === 'bad' || daily === 'bad') {
      setMessage({ tone: 'red', text: t('errors.AMOUNT_INVALID') });
      return;
    }
    const reason = String(d.get('reason') ?? '').trim();
    if (!reason) {
      setMessage({ tone: 'red', text: t('errors.REASON_REQUIRED') });
      return;
    }
    void run(async () => {
      await save.mutateAsync({ role, singleRefundMaxFen: single, dailyRefundMaxFen: daily, reason });
      await qc.invalidateQueries({ queryKey: trpc.admin.users.limits.queryKey() });
      setMessage({ tone: 'green', text: t('saved', { role: ta(`roles.${role}`) }) });
    }).catch((err: unknown) => setMessage({ tone: 'red', text: explain(err) }));
  }

  return (
    <div className="space-y-4">
      {dialog}
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <p className="text-sm text-neutral-600">{t('help')}</p>
      {message ? (
        <Alert tone={message.tone} testId="limits-message">
          {message.text}
        </Alert>
      ) : null}
      {limits.isPending ? (
        <Loading label={ta('loading')} />
      ) : limits.isError ? (
        <ErrorState message={ta('error')} retry={() => void limits.refetch()} retryLabel={ta('retry')} />
      ) : (
        <div className="grid gap-3 lg:grid-cols-2">
          {limits.data.map((l) => {
            const name = ta(`roles.${l.role}`);
            const editable = canManage && (isOwner || (l.role !== 'owner' && l.role !== 'admin'));
            return (
              <Card key={l.role} title={name}>
                <div data-testid={`limits-${l.role}`}>
                  <p className="mb-2 text-sm">
                    {t('single')}: {l.singleRefundMaxFen === null ? t('unlimited') : <Money fen={l.singleRefundMaxFen} />} · {t('daily')}:{' '}
                    {l.dailyRefundMaxFen === null ? t('unlimited') : <Money fen={l.dailyRefundMaxFen} />}
                  </p>
                  {editable ? (
                    <form onSubmit={(e) => onSave(l.role, e)} className="grid gap-2 sm:grid-cols-2" aria-label={t('formLabel', { role: name })}>
                      <Field label={t('singleYuan')} htmlFor={`single-${l.role}`}>
                        <Input
                          id={`single-${l.role}`}
                          name="single"
                          inputMode="decimal"
                          autoComplete="off"
                          defaultValue={l.singleRefundMaxFen === null ? '' : fenToYuanText(l.singleRefundMaxFen)}
                        />
                      </Field>
                      <Field label={t('dailyYuan')} htmlFor={`daily-${l.role}`}>
                        <Input
                          id={`daily-${l.role}`}
                          name="daily"
                          inputMode="decimal"
                          autoComplete="off"
                          defaultValue={l.dailyRefundMaxFen === null ? '' : fenToYuanText(l.dailyRefundMaxFen)}
                        />
                      </Field>
                      <div className="sm:col-span-2">
                        <Field label={t('reason')} htmlFor={`reason-${l.role}`}>
                          <Input id={`reason-${l.role}`} name="reason" required maxLength={500} autoComplete="off" />
                        </Field>
                      </div>
                      <p className="text-xs text-neutral-600 sm:col-span-2">{t('hint')}</p>
                      <div>
                        <Button type="submit" disabled={save.isPending} aria-label={t('saveLabel', { role: name })}>
                          {t('save')}
                        </Button>
                      </div>
                    </form>
                  ) : canManage ? (
                    <p className="text-xs text-neutral-600">{t('ownerOnly')}</p>
                  ) : null}
                </div>
              </Card>
            );
          })}
        </div>
      )}
    </div>
  );
}
