import { asc, eq } from 'drizzle-orm';
import { getDb } from '@/db/client';
import { products } from '@/db/schema';
import { loadEnv } from '@/server/env';
import { formatYuan } from '@/server/payments/money';
import { BuyButton } from './_components/buy-button';

export const dynamic = 'force-dynamic';

export default async function StorefrontPage() {
  const rows = await getDb().select().from(products).where(eq(products.active, true)).orderBy(asc(products.position));
  return (
    <main className="mx-auto max-w-4xl px-4 py-10">
      <header className="mb-8">
        <h1 className="text-3xl font-semibold">{loadEnv().MERCHANT_NAME}</h1>
        <p className="mt-1 text-neutral-600">微信扫码支付 · Pay with WeChat Pay</p>
      </header>
      <ul className="grid gap-4 sm:grid-cols-2">
        {rows.map((p) => (
          <li key={p.id} className="flex flex-col rounded-xl border border-neutral-200 bg-white p-5 shadow-sm">
            <h2 className="text-lg font-medium">{p.name}</h2>
            <p className="text-sm text-neutral-500">{p.nameEn}</p>
            <p className="mt-2 text-sm text-neutral-600">{p.description}</p>
            <div className="mt-4 flex items-center justify-between">
              <span className="text-xl font-semibold" data-testid="price">¥{formatYuan(p.priceFen)}</span>
              <BuyButton productId={p.id} productName={p.name} />
            </div>
          </li>
        ))}
      </ul>
    </main>
  );
}
