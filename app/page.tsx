import { getFormatter, getLocale, getTranslations } from 'next-intl/server';
import { loadEnv } from '@/server/env';
import { serverCaller } from '@/server/trpc/caller';
import { fenToYuan } from './_lib/money';
import { productTexts, type StoreProduct } from './_lib/products';
import { AddToCart, CartPanel, CartProvider } from './_components/cart';

export const dynamic = 'force-dynamic';

export default async function StorefrontPage() {
  // The same `catalog.list` the API serves, called in-process: one contract for the page and for clients.
  const products: StoreProduct[] = await serverCaller().catalog.list();
  const [t, format, locale] = await Promise.all([getTranslations('store'), getFormatter(), getLocale()]);
  return (
    <CartProvider products={products} maxOrderFen={loadEnv().MAX_ORDER_AMOUNT_FEN}>
      <main id="main" className="mx-auto max-w-5xl px-4 py-8">
        <header className="mb-6">
          <h1 className="text-2xl font-semibold sm:text-3xl">{loadEnv().MERCHANT_NAME}</h1>
          <p className="mt-1 text-neutral-700">{t('tagline')}</p>
        </header>
        <div className="grid gap-8 lg:grid-cols-[1fr_20rem] lg:items-start">
          <section aria-labelledby="products-heading">
            <h2 id="products-heading" className="sr-only">
              {t('productsHeading')}
            </h2>
            <ul className="grid gap-4 sm:grid-cols-2">
              {products.map((p, index) => {
                const texts = productTexts(p, locale);
                // `lang` only where a text fell back to the other language (the page's own is on <html>).
                const langOf = (t: { lang: string }) => (t.lang === locale ? undefined : t.lang);
                return (
                  <li key={p.id} className="flex overflow-hidden rounded-xl border border-neutral-200 bg-white shadow-sm sm:flex-col" data-product-id={p.id}>
                    {p.imageUrl && (
                      // Plain <img>: the illustrations are small static SVGs; decorative (the name follows).
                      // biome-ignore lint/performance/noImgElement: small static SVGs gain nothing from next/image
                      <img
                        src={p.imageUrl}
                        alt=""
                        width={400}
                        height={300}
                        loading={index < 2 ? 'eager' : 'lazy'}
                        className="w-24 shrink-0 bg-neutral-100 object-cover min-[400px]:w-32 sm:aspect-[4/3] sm:w-full"
                      />
                    )}
                    <div className="flex min-w-0 flex-1 flex-col p-3 sm:p-4">
                      <h3 className="text-base font-medium sm:text-lg" lang={langOf(texts.name)}>
                        {texts.name.text}
                      </h3>
                      {texts.tagline && (
                        <p className="text-sm text-neutral-700" lang={langOf(texts.tagline)} data-testid="tagline">
                          {texts.tagline.text}
                        </p>
                      )}
                      {texts.description && (
                        <p className="mt-2 text-sm text-neutral-600" lang={langOf(texts.description)} data-testid="product-description">
                          {texts.description.text}
                        </p>
                      )}
                      <div className="mt-auto flex flex-wrap items-center justify-between gap-2 pt-3 sm:gap-3 sm:pt-4">
                        <span className="text-lg font-semibold sm:text-xl" data-testid="price">
                          {format.number(fenToYuan(p.priceFen), 'cny')}
                        </span>
                        <AddToCart productId={p.id} productName={texts.name.text} />
                      </div>
                    </div>
                  </li>
                );
              })}
            </ul>
          </section>
          <CartPanel />
        </div>
      </main>
    </CartProvider>
  );
}
