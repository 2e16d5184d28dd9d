'use client';
// A server or render error below the root layout. Shows nothing of the error itself: only Next's opaque
// digest, which lets the merchant find the matching server log line.
import Link from 'next/link';
import { useTranslations } from 'next-intl';

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const t = useTranslations();
  return (
    <main id="main" className="mx-auto max-w-md px-4 py-16 text-center">
      <h1 className="text-2xl font-semibold">{t('errorPage.heading')}</h1>
      <p className="mt-2 text-neutral-700">{t('errorPage.body')}</p>
      {error.digest && <p className="mt-4 font-mono text-xs text-neutral-600">{t('errorPage.reference', { digest: error.digest })}</p>}
      <div className="mt-6 flex flex-wrap justify-center gap-3">
        <button type="button" onClick={() => reset()} className="rounded-lg bg-neutral-900 px-4 py-2.5 font-medium text-white hover:bg-neutral-700">
          {t('common.tryAgain')}
        </button>
        <Link href="/" className="rounded-lg border border-neutral-300 bg-white px-4 py-2.5 font-medium text-neutral-900 hover:bg-neutral-100">
          {t('common.backToShop')}
        </Link>
      </div>
    </main>
  );
}
