import Link from 'next/link';
import { getTranslations } from 'next-intl/server';

export async function generateMetadata() {
  const t = await getTranslations('meta');
  return { title: t('notFoundTitle') };
}

export default async function NotFound() {
  const t = await getTranslations();
  return (
    <main id="main" className="mx-auto max-w-md px-4 py-16 text-center">
      <p className="text-5xl font-bold text-neutral-500" aria-hidden="true">
        404
      </p>
      <h1 className="mt-4 text-2xl font-semibold">{t('notFound.heading')}</h1>
      <p className="mt-2 text-neutral-700">{t('notFound.body')}</p>
      <Link href="/" className="mt-6 inline-block rounded-lg bg-neutral-900 px-4 py-2.5 font-medium text-white hover:bg-neutral-700">
        {t('common.backToShop')}
      </Link>
    </main>
  );
}
