import type { Metadata, Viewport } from 'next';
import Link from 'next/link';
import { NextIntlClientProvider } from 'next-intl';
import { getLocale, getTranslations } from 'next-intl/server';
import type { ReactNode } from 'react';
import { loadEnv } from '@/server/env';
import { LanguageSwitch } from './_components/language-switch';
import { Providers } from './_trpc/client';
import './globals.css';

export async function generateMetadata(): Promise<Metadata> {
  const t = await getTranslations('meta');
  return {
    title: t('storeTitle', { merchant: loadEnv().MERCHANT_NAME }),
    description: 'Pay with WeChat Pay by scanning a QR code',
  };
}

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#07c160' };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const locale = await getLocale();
  const t = await getTranslations('common');
  const merchant = loadEnv().MERCHANT_NAME;
  return (
    <html lang={locale}>
      <body className="flex min-h-screen flex-col">
        <a href="#main" className="skip-link">
          {t('skipToContent')}
        </a>
        <NextIntlClientProvider>
          <header className="border-b border-neutral-200 bg-white">
            <div className="mx-auto flex max-w-5xl flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-3">
              <Link href="/" className="flex items-center gap-2 rounded text-base font-semibold text-neutral-900">
                <span aria-hidden="true" className="grid size-7 place-items-center rounded-md bg-[var(--wechat-green-dark)] text-sm text-white">
                  ¥
                </span>
                {merchant}
              </Link>
              <LanguageSwitch />
            </div>
          </header>
          <Providers>
            <div className="flex-1">{children}</div>
          </Providers>
          <footer className="mt-12 border-t border-neutral-200 bg-white">
            <p className="mx-auto max-w-5xl px-4 py-4 text-xs text-neutral-600">{t('poweredBy')}</p>
          </footer>
        </NextIntlClientProvider>
      </body>
    </html>
  );
}
