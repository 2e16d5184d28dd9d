import { TRPCError } from '@trpc/server';
import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { loadEnv } from '@/server/env';
import { serverCaller } from '@/server/trpc/caller';
import { isPhoneUserAgent } from '../../_lib/device';
import { CheckoutStatus } from '../../_components/checkout-status';

export const dynamic = 'force-dynamic';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export async function generateMetadata(): Promise<Metadata> {
  const t = await getTranslations('meta');
  // The token is a bearer secret: keep checkout pages out of search engines and referrers.
  return { title: t('checkoutTitle', { merchant: loadEnv().MERCHANT_NAME }), robots: { index: false, follow: false }, referrer: 'no-referrer' };
}

export default async function CheckoutPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  if (!TOKEN.test(token)) notFound();
  const env = loadEnv();
  // The very `checkout.status` the browser polls, called in-process: the first HTML carries the QR code.
  const caller = serverCaller();
  const view = await caller.checkout.status({ token }).catch((error: unknown) => {
    if (error instanceof TRPCError && error.code === 'NOT_FOUND') notFound();
    throw error;
  });
  const isPhone = isPhoneUserAgent((await headers()).get('user-agent'));
  return (
    <main id="main" className="mx-auto max-w-4xl px-4 py-6 sm:py-10">
      <CheckoutStatus
        token={token}
        initial={view}
        serverNow={Date.now()}
        isPhone={isPhone}
        checkoutUrl={`${env.appUrl}/checkout/${token}`}
        simulatorUrl={env.wechatpayMode === 'simulator' ? env.simulatorUrl : null}
      />
    </main>
  );
}
