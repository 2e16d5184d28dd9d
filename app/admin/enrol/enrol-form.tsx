'use client';
import { useTranslations } from 'next-intl';
import { QRCodeSVG } from 'qrcode.react';
import { useState, type FormEvent } from 'react';
import { authCall } from '../_lib/auth-client';
import { Alert, Button, Card, Field, Input } from '../_components/ui';

export function EnrolForm({ required }: { required: boolean }) {
  const t = useTranslations('admin.enrol');
  const [uri, setUri] = useState<string | null>(null);
  const [codes, setCodes] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function start(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await authCall('/two-factor/enable', { password: String(new FormData(e.currentTarget).get('password')) });
    setBusy(false);
    if (!res.ok) return setError(t('invalidPassword'));
    setUri(String(res.body?.totpURI));
    setCodes((res.body?.backupCodes as string[] | undefined) ?? []);
  }

  async function verify(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await authCall('/two-factor/verify-totp', { code: String(new FormData(e.currentTarget).get('code')).trim() });
    setBusy(false);
    if (!res.ok) return setError(t('invalidCode'));
    window.location.assign('/admin/orders');
  }

  const secret = uri ? new URL(uri).searchParams.get('secret') : null;
  return (
    <Card>
      <h1 className="mb-2 text-xl font-semibold">{t('heading')}</h1>
      {required ? <p className="mb-4 text-sm text-neutral-600">{t('required')}</p> : null}
      {!uri ? (
        <form onSubmit={start} className="space-y-3">
          <Field label={t('password')} htmlFor="password">
            <Input id="password" name="password" type="password" autoComplete="current-password" required autoFocus />
          </Field>
          {error ? <Alert>{error}</Alert> : null}
          <Button type="submit" disabled={busy} className="w-full">
            {t('start')}
          </Button>
        </form>
      ) : (
        <div className="space-y-4">
          <p className="text-sm">{t('scan')}</p>
          <div className="flex justify-center">
            <QRCodeSVG value={uri} size={180} title={t('secret')} />
          </div>
          <p className="text-sm">
            {t('secret')}:{' '}
            <code data-testid="totp-secret" className="rounded bg-neutral-100 px-1 py-0.5 break-all select-all">
              {secret}
            </code>
          </p>
          <div>
            <h2 className="text-sm font-semibold">{t('backupHeading')}</h2>
            <p className="mb-2 text-xs text-neutral-600">{t('backupHelp')}</p>
            <ul data-testid="backup-codes" className="grid grid-cols-2 gap-1 font-mono text-sm">
              {codes.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          </div>
          <form onSubmit={verify} className="space-y-3">
            <Field label={t('code')} htmlFor="code">
              <Input id="code" name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required />
            </Field>
            {error ? <Alert>{error}</Alert> : null}
            <Button type="submit" disabled={busy} className="w-full">
              {t('verify')}
            </Button>
          </form>
        </div>
      )}
    </Card>
  );
}
