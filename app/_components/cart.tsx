'use client';
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useFormatter, useLocale, useTranslations } from 'next-intl';
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { errorKey } from '../_lib/errors';
import { fenToYuan } from '../_lib/money';
import { productTexts, type StoreProduct } from '../_lib/products';
import { useTRPC } from '../_trpc/client';
import { MAX_QUANTITY, useCart, type CartLine } from './cart-store';
import { WeChatPayMark } from './icons';

interface CartContextValue {
  products: Map<string, StoreProduct>;
  /** MAX_ORDER_AMOUNT_FEN: the server refuses a larger order, so the cart says so before paying. */
  maxOrderFen: number;
  lines: readonly CartLine[];
  setQuantity: (productId: string, quantity: number) => void;
  clear: () => void;
}

const CartContext = createContext<CartContextValue | null>(null);

function useCartContext() {
  const value = useContext(CartContext);
  if (!value) throw new Error('CartProvider missing');
  return value;
}

export function CartProvider({ products, maxOrderFen, children }: { products: StoreProduct[]; maxOrderFen: number; children: ReactNode }) {
  const { lines, setQuantity, clear } = useCart();
  const byId = useMemo(() => new Map(products.map((p) => [p.id, p])), [products]);
  // Lines for products no longer sold are dropped from view (and from the order).
  const known = useMemo(() => lines.filter((l) => byId.has(l.productId)), [lines, byId]);
  return <CartContext.Provider value={{ products: byId, maxOrderFen, lines: known, setQuantity, clear }}>{children}</CartContext.Provider>;
}

function Stepper({ productId, productName, quantity, focusOnMount }: { productId: string; productName: string; quantity: number; focusOnMount?: boolean }) {
  const t = useTranslations('store');
  const { setQuantity } = useCartContext();
  const plus = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (focusOnMount) plus.current?.focus();
  }, [focusOnMount]);
  const btn =
    'grid size-9 place-items-center rounded-md border border-neutral-300 bg-white text-lg leading-none text-neutral-900 hover:bg-neutral-100 disabled:opacity-40';
  return (
    <div className="flex items-center gap-1" role="group" aria-label={t('quantityOf', { name: productName })}>
      <button
        type="button"
        className={btn}
        aria-label={quantity === 1 ? t('remove', { name: productName }) : t('decrease', { name: productName })}
        onClick={() => setQuantity(productId, quantity - 1)}
      >
        <span aria-hidden="true">−</span>
      </button>
      <output className="min-w-8 text-center font-medium tabular-nums" aria-live="polite" data-testid="quantity">
        {quantity}
      </output>
      <button
        ref={plus}
        type="button"
        className={btn}
        aria-label={t('increase', { name: productName })}
        disabled={quantity >= MAX_QUANTITY}
        onClick={() => setQuantity(productId, quantity + 1)}
      >
        <span aria-hidden="true">+</span>
      </button>
    </div>
  );
}

/** "Add to cart" on a product card; once in the cart it turns into a quantity stepper. */
export function AddToCart({ productId, productName }: { productId: string; productName: string }) {
  const t = useTranslations('store');
  const { lines, setQuantity } = useCartContext();
  const quantity = lines.find((l) => l.productId === productId)?.quantity ?? 0;
  const [justAdded, setJustAdded] = useState(false);
  const add = useRef<HTMLButtonElement>(null);
  const hadQuantity = useRef(quantity > 0);
  useEffect(() => {
    // Removed with "−": keep keyboard focus on this card rather than losing it to <body>.
    if (hadQuantity.current && quantity === 0 && document.activeElement === document.body) add.current?.focus();
    hadQuantity.current = quantity > 0;
  }, [quantity]);
  if (quantity > 0) return <Stepper productId={productId} productName={productName} quantity={quantity} focusOnMount={justAdded} />;
  return (
    <button
      ref={add}
      type="button"
      onClick={() => {
        setJustAdded(true);
        setQuantity(productId, 1);
      }}
      aria-label={t('addToCartLabel', { name: productName })}
      className="rounded-lg border border-[var(--wechat-green-dark)] bg-white px-4 py-2 font-medium text-[var(--wechat-green-dark)] hover:bg-green-50"
    >
      {t('addToCart')}
    </button>
  );
}

function useTotals(lines: readonly CartLine[], products: Map<string, StoreProduct>) {
  let count = 0;
  let totalFen = 0;
  for (const l of lines) {
    count += l.quantity;
    totalFen += (products.get(l.productId)?.priceFen ?? 0) * l.quantity;
  }
  return { count, totalFen };
}

/** The order summary and the one button that creates the order (totals are recomputed by the server). */
export function CartPanel() {
  const t = useTranslations('store');
  const te = useTranslations('errors');
  const format = useFormatter();
  const locale = useLocale();
  const router = useRouter();
  const trpc = useTRPC();
  const { lines: liveLines, products, maxOrderFen, clear } = useCartContext();
  const [submitted, setSubmitted] = useState<readonly CartLine[] | null>(null);
  // One order per click, even for a double click that lands before React re-renders the disabled button.
  const inFlight = useRef(false);
  const create = useMutation(
    trpc.checkout.create.mutationOptions({
      onSuccess: ({ token }) => {
        router.push(`/checkout/${token}`);
        clear();
      },
      onError: () => {
        inFlight.current = false;
        setSubmitted(null);
      },
    }),
  );
  const busy = create.isPending || create.isSuccess;
  // While the order is being created (and until the checkout page replaces this one) show what was sent.
  const lines = busy && submitted ? submitted : liveLines;
  const { count, totalFen } = useTotals(lines, products);
  const money = (fen: number) => format.number(fenToYuan(fen), 'cny');
  const overLimit = totalFen > maxOrderFen;

  const pay = () => {
    if (inFlight.current || busy || lines.length === 0 || overLimit) return;
    inFlight.current = true;
    setSubmitted(lines);
    create.mutate({ items: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })) });
  };

  return (
    <>
      <aside
        id="cart"
        aria-labelledby="cart-heading"
        className="scroll-mt-4 rounded-xl border border-neutral-200 bg-white p-4 shadow-sm lg:sticky lg:top-4"
        data-testid="cart"
      >
        <h2 id="cart-heading" className="flex items-baseline justify-between text-lg font-semibold">
          {t('cartHeading')}
          {count > 0 && <span className="text-sm font-normal text-neutral-600">{t('cartCount', { count })}</span>}
        </h2>
        {lines.length === 0 ? (
          <p className="mt-3 text-sm text-neutral-700">{t('cartEmpty')}</p>
        ) : (
          <ul className="mt-3 divide-y divide-neutral-200">
            {lines.map((l) => {
              const p = products.get(l.productId);
              if (!p) return null;
              const name = productTexts(p, locale).name.text;
              return (
                <li key={l.productId} className="flex flex-wrap items-center justify-between gap-2 py-3" data-testid="cart-line">
                  <div className="min-w-0 flex-1">
                    <p className="font-medium">{name}</p>
                    <p className="text-sm text-neutral-600 tabular-nums">{t('lineTotal', { quantity: l.quantity, price: money(p.priceFen) })}</p>
                  </div>
                  {!busy && <Stepper productId={l.productId} productName={name} quantity={l.quantity} />}
                </li>
              );
            })}
          </ul>
        )}
        <div className="mt-3 flex items-baseline justify-between border-t border-neutral-200 pt-3">
          <span className="font-medium">{t('total')}</span>
          <span className="text-2xl font-semibold tabular-nums" data-testid="cart-total">
            {money(totalFen)}
          </span>
        </div>
        <p className="mt-1 text-xs text-neutral-600">{t('totalNote')}</p>
        <button
          type="button"
          onClick={pay}
          disabled={busy || lines.length === 0 || overLimit}
          aria-describedby={overLimit ? 'cart-over-limit' : undefined}
          className="mt-4 flex w-full items-center justify-center gap-2 rounded-lg bg-[var(--wechat-green-dark)] px-4 py-3 text-base font-semibold text-white hover:bg-[#056733] disabled:cursor-not-allowed disabled:bg-neutral-400"
          data-testid="pay"
        >
          <WeChatPayMark className="size-5" />
          {busy ? t('paying') : t('pay')}
        </button>
        <div aria-live="polite">
          {overLimit && (
            <p id="cart-over-limit" className="mt-3 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950" data-testid="cart-over-limit">
              {t('overLimit', { max: money(maxOrderFen) })}
            </p>
          )}
        </div>
        <div aria-live="assertive" className="mt-3" data-testid="cart-error">
          {create.error && (
            <p role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800">
              {te(errorKey(create.error))}
            </p>
          )}
        </div>
      </aside>
      {count > 0 && !busy && (
        <div
          className="cart-bar fixed inset-x-0 bottom-0 z-10 border-t border-neutral-200 bg-white/95 p-3 shadow-[0_-2px_8px_rgb(0_0_0/0.06)] backdrop-blur lg:hidden"
          data-testid="cart-bar"
        >
          <a href="#cart" className="flex items-center justify-center gap-2 rounded-lg bg-neutral-900 px-4 py-2.5 font-medium text-white">
            {t('viewCart', { count, total: money(totalFen) })}
          </a>
        </div>
      )}
    </>
  );
}
