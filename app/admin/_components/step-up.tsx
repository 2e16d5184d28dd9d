'use client';
// Sensitive actions answer PRECONDITION_FAILED "STEP_UP_REQUIRED" when the last proof is older than
// 5 minutes: `useStepUp().run(action)` then asks for the password or a TOTP code and retries once.
import { useMutation } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import { useTranslations } from 'next-intl';
import { useRef, useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { Dialog } from './dialog';
import { Alert, Button, Field, Input } from './ui';

export function isStepUpRequired(err: unknown): boolean {
  return err instanceof TRPCClientError && (err.data as { code?: string } | undefined)?.code === 'PRECONDITION_FAILED';
}

export function useStepUp() {
  const t = useTranslations('admin.stepUp');
  const trpc = useTRPC();
  const stepUp = useMutation(trpc.admin.me.stepUp.mutationOptions());
  const [open, setOpen] = useState(false);
  const pending = useRef<(() => Promise<unknown>) | null>(null);

  async function run(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (err) {
      if (!isStepUpRequired(err)) throw err;
      pending.current = action;
      stepUp.reset();
      setOpen(true);
    }
  }

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const code = String(d.get('code') ?? '').trim();
    const password = String(d.get('password') ?? '');
    try {
      await stepUp.mutateAsync(code ? { code } : { password });
    } catch {
      return;
    }
    setOpen(false);
    await pending.current?.();
    pending.current = null;
  }

  const dialog = (
    <Dialog open={open} onOpenChange={setOpen} title={t('heading')} description={t('help')}>
      <form onSubmit={onSubmit} className="space-y-3">
        <Field label={t('password')} htmlFor="stepup-password">
          <Input id="stepup-password" name="password" type="password" autoComplete="current-password" autoFocus />
        </Field>
        <Field label={t('code')} htmlFor="stepup-code">
          <Input id="stepup-code" name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" />
        </Field>
        {stepUp.isError ? <Alert>{t('failed')}</Alert> : null}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={() => setOpen(false)}>
            {t('cancel')}
          </Button>
          <Button type="submit" disabled={stepUp.isPending}>
            {t('submit')}
          </Button>
        </div>
      </form>
    </Dialog>
  );
  return { run, dialog };
}
