import { notFound } from 'next/navigation';
import { getDb } from '@/db/client';
import { loadEnv } from '@/server/env';
import { getCheckoutView } from '@/server/payments/orders';
import { CheckoutStatus } from '../../_components/checkout-status';

export const dynamic = 'force-dynamic';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export default async function CheckoutPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  if (!TOKEN.test(token)) notFound();
  const view = await getCheckoutView(getDb(), token);
  if (!view) notFound();
  const { token: _t, ...initial } = view;
  // Server-rendered with the QR in the first HTML; the client component then keeps the status fresh.
  return (
    <main className="mx-auto max-w-md px-4 py-10">
      <CheckoutStatus token={token} initial={{ ...initial, merchantName: loadEnv().MERCHANT_NAME }} />
    </main>
  );
}
