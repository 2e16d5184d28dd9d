'use client';
import { useMutation } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import Link from 'next/link';
import { useTranslations } from 'next-intl';
import type { FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { Alert, Button, Card, Field, Input } from '../_components/ui';

export function SetupForm() {
  const t = useTranslations('admin.setup');
  const trpc = useTRPC();
  const complete = useMutation(trpc.setup.complete.mutationOptions());

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    complete.mutate({
      token: String(d.get('token')),
      email: String(d.get('email')),
      name: String(d.get('name') || '') || undefined,
      password: String(d.get('password')),
    });
  }

  if (complete.data) {
    return (
      <Card>
        <Alert tone="green" testId="setup-done">
          {t('done', { email: complete.data.email })}
        </Alert>
        <Link href="/admin/sign-in" className="mt-4 inline-block rounded-md bg-neutral-900 px-3 py-2 text-sm font-medium text-white">
          {t('goSignIn')}
        </Link>
      </Card>
    );
  }
  const err = complete.error;
  const zod = err instanceof TRPCClientError && (err.data as { zodIssues?: unknown } | undefined)?.zodIssues;
  return (
    <Card>
      <h1 className="mb-2 text-xl font-semibold">{t('heading')}</h1>
      <p className="mb-4 text-sm text-neutral-600">{t('help')}</p>
      <form onSubmit={onSubmit} className="space-y-3">
        <Field label={t('token')} htmlFor="token">
          <Input id="token" name="token" autoComplete="off" required autoFocus spellCheck={false} />
        </Field>
        <Field label={t('email')} htmlFor="email">
          <Input id="email" name="email" type="email" autoComplete="username" required />
        </Field>
        <Field label={t('name')} htmlFor="name">
          <Input id="name" name="name" autoComplete="name" />
        </Field>
        <Field label={t('password')} htmlFor="password">
          <Input id="password" name="password" type="password" autoComplete="new-password" minLength={12} required />
        </Field>
        {err ? <Alert testId="setup-error">{zod ? t('badInput') : t('invalid')}</Alert> : null}
        <Button type="submit" disabled={complete.isPending} className="w-full">
          {t('submit')}
        </Button>
      </form>
    </Card>
  );
}
