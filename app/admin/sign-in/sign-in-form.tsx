'use client';
import { useTranslations } from 'next-intl';
import { useState, type FormEvent } from 'react';
import { authCall } from '../_lib/auth-client';
import { Alert, Button, Card, Field, Input } from '../_components/ui';

type Step = 'password' | 'totp' | 'backup';

export function SignInForm() {
  const t = useTranslations('admin.signIn');
  const [step, setStep] = useState<Step>('password');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const done = () => window.location.assign('/admin/orders');

  async function onPassword(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    const res = await authCall('/sign-in/email', { email: String(data.get('email')), password: String(data.get('password')) });
    setBusy(false);
    if (res.status === 429) return setError(t('locked'));
    if (!res.ok) return setError(t('invalid'));
    if (res.body?.twoFactorRedirect) return setStep('totp');
    done();
  }

  async function onCode(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('code')).trim();
    setBusy(true);
    setError(null);
    const res = await authCall(step === 'totp' ? '/two-factor/verify-totp' : '/two-factor/verify-backup-code', { code });
    setBusy(false);
    if (res.status === 429) return setError(t('locked'));
    if (!res.ok) {
      // The pending sign-in expired or was used up: back to the password.
      if (res.body?.code === 'INVALID_TWO_FACTOR_COOKIE') {
        setStep('password');
        return setError(t('expired'));
      }
      return setError(t('invalidCode'));
    }
    done();
  }

  if (step === 'password') {
    return (
      <Card>
        <h1 className="mb-4 text-xl font-semibold">{t('heading')}</h1>
        <form onSubmit={onPassword} className="space-y-3" noValidate>
          <Field label={t('email')} htmlFor="email">
            <Input id="email" name="email" type="email" autoComplete="username" required autoFocus />
          </Field>
          <Field label={t('password')} htmlFor="password">
            <Input id="password" name="password" type="password" autoComplete="current-password" required />
          </Field>
          {error ? <Alert testId="sign-in-error">{error}</Alert> : null}
          <Button type="submit" disabled={busy} className="w-full">
            {busy ? t('submitting') : t('submit')}
          </Button>
        </form>
      </Card>
    );
  }
  return (
    <Card>
      <h1 className="mb-2 text-xl font-semibold">{t('codeHeading')}</h1>
      <p className="mb-4 text-sm text-neutral-600">{t('codeHelp')}</p>
      <form onSubmit={onCode} className="space-y-3" key={step}>
        <Field label={step === 'totp' ? t('code') : t('backupCode')} htmlFor="code">
          <Input
            id="code"
            name="code"
            autoComplete="one-time-code"
            inputMode={step === 'totp' ? 'numeric' : 'text'}
            pattern={step === 'totp' ? '[0-9]{6}' : undefined}
            required
            autoFocus
          />
        </Field>
        {error ? <Alert testId="sign-in-error">{error}</Alert> : null}
        <Button type="submit" disabled={busy} className="w-full">
          {t('verify')}
        </Button>
        <Button variant="ghost" className="w-full" onClick={() => setStep(step === 'totp' ? 'backup' : 'totp')}>
          {step === 'totp' ? t('useBackup') : t('useTotp')}
        </Button>
      </form>
    </Card>
  );
}
