'use client';
// The shopper's checkout: every state of an order, kept live (SSE subscription, polling while the stream
// is down), with "I've paid" and "get a new QR code". The first render matches the server's HTML exactly
// (same view, same clock), so the QR code is in the first paint and nothing flickers on hydration.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import type { inferRouterOutputs } from '@trpc/server';
import Link from 'next/link';
import { useFormatter, useLocale, useTranslations } from 'next-intl';
import { QRCodeSVG } from 'qrcode.react';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { AppRouter } from '@/server/trpc/root';
import { errorKey } from '../_lib/errors';
import { liveViewWriter } from '../_lib/live-view';
import { fenToYuan } from '../_lib/money';
import { useTRPC } from '../_trpc/client';
import { CopyButton } from './copy-button';
import { AlertIcon, CheckIcon, ClockIcon, PhoneIcon, RefundIcon } from './icons';

export type CheckoutView = inferRouterOutputs<AppRouter>['checkout']['status'];
type Finding = inferRouterOutputs<AppRouter>['checkout']['check']['found'];
export type Phase = 'waiting' | 'expired' | 'unavailable' | 'paid' | 'closed' | 'review' | 'refunded' | 'partially_refunded';

/** What the shopper should see, from the server's view and the (server-aligned) time now. */
export function phaseOf(view: CheckoutView, now: number): Phase {
  switch (view.status) {
    case 'paid':
    case 'refunded':
    case 'partially_refunded':
    case 'review':
    case 'closed':
      return view.status;
  }
  if (view.renewable || view.expiresAt.getTime() <= now) return 'expired';
  return view.codeUrl ? 'waiting' : 'unavailable';
}

/** Polling fallback while the live stream is down: only for states that can still change soon. */
const POLL_MS = 3000;
const LIVE_PHASES: Phase[] = ['waiting', 'expired', 'unavailable', 'review', 'paid'];

/**
 * "Now", ticking every second after hydration. Starts at the server's clock so the first client render
 * equals the server HTML; corrects a client clock that is off by more than a page load could explain (5 s) by the server's.
 */
function useNow(serverNow: number): number {
  const [now, setNow] = useState(serverNow);
  useEffect(() => {
    const skew = serverNow - Date.now();
    const offset = Math.abs(skew) > 5_000 ? skew : 0;
    const tick = () => setNow(Date.now() + offset);
    tick();
    const timer = setInterval(tick, 1000);
    return () => clearInterval(timer);
  }, [serverNow]);
  return now;
}

const card = 'rounded-2xl border border-neutral-200 bg-white p-5 shadow-sm sm:p-6';
const primaryButton =
  'inline-flex w-full items-center justify-center gap-2 rounded-lg bg-[var(--wechat-green-dark)] px-4 py-3 text-base font-semibold text-white hover:bg-[#056733] disabled:cursor-not-allowed disabled:bg-neutral-400 sm:w-auto';
const secondaryButton =
  'inline-flex w-full items-center justify-center gap-2 rounded-lg border border-neutral-300 bg-white px-4 py-2.5 font-medium text-neutral-900 hover:bg-neutral-100 disabled:cursor-not-allowed disabled:text-neutral-500 sm:w-auto';

const BADGE: Record<Phase, string> = {
  waiting: 'bg-amber-50 text-amber-900 ring-amber-300',
  expired: 'bg-neutral-100 text-neutral-800 ring-neutral-300',
  unavailable: 'bg-neutral-100 text-neutral-800 ring-neutral-300',
  paid: 'bg-green-50 text-green-900 ring-green-300',
  closed: 'bg-neutral-100 text-neutral-800 ring-neutral-300',
  review: 'bg-blue-50 text-blue-900 ring-blue-300',
  refunded: 'bg-violet-50 text-violet-900 ring-violet-300',
  partially_refunded: 'bg-violet-50 text-violet-900 ring-violet-300',
};

function PhaseIcon({ phase }: { phase: Phase }) {
  const cls = 'size-5 shrink-0';
  if (phase === 'paid') return <CheckIcon className={cls} />;
  if (phase === 'refunded' || phase === 'partially_refunded') return <RefundIcon className={cls} />;
  if (phase === 'review' || phase === 'unavailable') return <AlertIcon className={cls} />;
  return <ClockIcon className={cls} />;
}

export interface CheckoutStatusProps {
  token: string;
  initial: CheckoutView;
  /** Server time (ms) when `initial` was read. */
  serverNow: number;
  isPhone: boolean;
  checkoutUrl: string;
  /** Simulator mode only: the simulator's phone page, for trying the flow without a real phone. */
  simulatorUrl: string | null;
}

export function CheckoutStatus({ token, initial, serverNow, isPhone, checkoutUrl, simulatorUrl }: CheckoutStatusProps) {
  const t = useTranslations('checkout');
  const format = useFormatter();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow(serverNow);
  const statusKey = trpc.checkout.status.queryKey({ token });
  // The stream's views and the actions' answers are newer than any poll still in flight (live-view.ts).
  const writeView = useMemo(() => liveViewWriter<CheckoutView>(queryClient, trpc.checkout.status.queryKey({ token })), [queryClient, trpc, token]);
  const setView = (next: CheckoutView) => void writeView(next);

  // Live: the server pushes a fresh view on every change, from whichever process made it.
  const stream = useSubscription(trpc.checkout.onStatus.subscriptionOptions({ token }, { onData: setView }));
  const streaming = stream.status === 'pending';
  const { data } = useQuery({
    ...trpc.checkout.status.queryOptions({ token }),
    initialData: initial,
    initialDataUpdatedAt: serverNow,
    refetchInterval: (q) => (!streaming && q.state.data && LIVE_PHASES.includes(phaseOf(q.state.data, Date.now())) ? POLL_MS : false),
  });
  const view = data ?? initial;
  const phase = phaseOf(view, now);

  // When the QR code runs out on screen, ask once for the server's view (it may have moved on).
  const expiredAt = useRef<number | null>(null);
  useEffect(() => {
    if (phase === 'expired' && view.status === 'awaiting_payment' && !view.renewable && expiredAt.current !== view.expiresAt.getTime()) {
      expiredAt.current = view.expiresAt.getTime();
      void queryClient.invalidateQueries({ queryKey: statusKey });
    }
  }, [phase, view, queryClient, statusKey]);

  // Keep keyboard and screen-reader users oriented: when the state changes under a control they were
  // using (the button vanished), move focus to the new state's heading.
  const heading = useRef<HTMLHeadingElement>(null);
  const panel = useRef<HTMLElement>(null);
  const previousPhase = useRef(phase);
  useEffect(() => {
    if (previousPhase.current === phase) return;
    previousPhase.current = phase;
    const active = document.activeElement;
    if (!active || active === document.body || !active.isConnected || panel.current?.contains(active)) heading.current?.focus();
  }, [phase]);

  // "I've paid": the answer stays on screen (and is announced) even when it moves the page to "paid".
  const te = useTranslations('errors');
  const [finding, setFinding] = useState<Finding | null>(null);
  const check = useMutation(
    trpc.checkout.check.mutationOptions({
      onMutate: () => setFinding(null),
      onSuccess: ({ found, view: next }) => {
        setFinding(found);
        setView(next);
      },
    }),
  );
  const checkError = check.error ? errorKey(check.error) : null;

  const money = (fen: number) => format.number(fenToYuan(fen), 'cny');
  const amount = money(view.amountFen);

  return (
    <div className="grid gap-6 md:grid-cols-[minmax(0,1.15fr)_minmax(0,1fr)] md:items-start" data-phase={phase}>
      <section ref={panel} aria-labelledby="status-heading" className={card}>
        <h1 id="status-heading" ref={heading} tabIndex={-1} className="rounded outline-offset-4">
          <span
            role="status"
            aria-live="polite"
            data-testid="status"
            data-status={view.status}
            data-phase={phase}
            className={`inline-flex items-center gap-2 rounded-full px-3 py-1 text-base font-semibold ring-1 ${BADGE[phase]}`}
          >
            <PhaseIcon phase={phase} />
            {t(`status.${phase}`)}
          </span>
        </h1>
        <p className="mt-4 text-sm text-neutral-700">
          {phase === 'waiting' ? t('amountToPay') : phase === 'paid' || phase === 'refunded' || phase === 'partially_refunded' ? t('paid.amount') : t('total')}
        </p>
        <p className="text-4xl font-bold tracking-tight tabular-nums" data-testid="amount">
          {amount}
        </p>

        {phase === 'waiting' && (
          <Waiting
            view={view}
            now={now}
            amount={amount}
            isPhone={isPhone}
            checkoutUrl={checkoutUrl}
            checking={check.isPending}
            onCheck={() => check.mutate({ token })}
          />
        )}
        {(phase === 'expired' || phase === 'unavailable') && <Expired token={token} phase={phase} onView={setView} />}
        {(phase === 'paid' || phase === 'refunded' || phase === 'partially_refunded') && <Receipt view={view} phase={phase} money={money} />}
        {phase === 'review' && <Review view={view} />}
        {phase === 'closed' && <p className="mt-4 text-neutral-800">{t('closed.body')}</p>}
        <div aria-live="polite" className="text-center text-sm" data-testid="check-result" data-found={finding ?? undefined}>
          {finding && <p className={`mt-3 ${finding === 'not_paid' ? 'text-neutral-800' : 'font-medium text-green-900'}`}>{t(`found.${finding}`)}</p>}
          {checkError && <p className="mt-3 text-red-800">{te(checkError === 'TOO_MANY_REQUESTS' ? 'TOO_MANY_CHECKS' : checkError)}</p>}
        </div>
        {phase === 'waiting' && simulatorUrl && view.codeUrl && (
          <p className="no-print mt-4 border-t border-dashed border-neutral-300 pt-3 text-center text-xs">
            <a
              href={`${simulatorUrl}/pay?code_url=${encodeURIComponent(view.codeUrl)}`}
              target="_blank"
              rel="noreferrer"
              className="text-blue-800 underline underline-offset-2"
              data-testid="simulator-link"
            >
              {t('simulator')}
            </a>
          </p>
        )}
        {phase !== 'waiting' && phase !== 'expired' && phase !== 'unavailable' && (
          <p className="no-print mt-6">
            <BackToShop />
          </p>
        )}
      </section>
      <Summary view={view} money={money} />
    </div>
  );
}

function BackToShop() {
  const t = useTranslations('common');
  return (
    <Link href="/" className="font-medium text-blue-800 underline underline-offset-2 hover:text-blue-950">
      {t('backToShop')}
    </Link>
  );
}

function Countdown({ expiresAt, now }: { expiresAt: Date; now: number }) {
  const t = useTranslations('checkout');
  const format = useFormatter();
  const left = Math.max(0, Math.ceil((expiresAt.getTime() - now) / 1000));
  const hours = Math.floor(left / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  const seconds = left % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  const clock = hours > 0 ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${pad(minutes)}:${pad(seconds)}`;
  return (
    <p className="mt-4 flex flex-wrap items-center justify-center gap-x-2 gap-y-1 text-sm text-neutral-800">
      <ClockIcon className="size-4" />
      <span>{t('expiresIn')}</span>
      <span
        role="timer"
        aria-label={t('countdownLabel', { minutes: hours * 60 + minutes, seconds })}
        className={`font-mono text-base font-semibold tabular-nums ${left <= 60 ? 'text-red-800' : 'text-neutral-900'}`}
        data-testid="countdown"
      >
        {clock}
      </span>
      <span className="text-neutral-700">({t('expiresAt', { time: format.dateTime(expiresAt, 'time') })})</span>
    </p>
  );
}

function Waiting({
  view,
  now,
  amount,
  isPhone,
  checkoutUrl,
  checking,
  onCheck,
}: {
  view: CheckoutView;
  now: number;
  amount: string;
  isPhone: boolean;
  checkoutUrl: string;
  checking: boolean;
  onCheck: () => void;
}) {
  const t = useTranslations('checkout');
  const codeUrl = view.codeUrl!;
  const qrAlt = t('qrAlt', { amount, merchant: view.merchantName });
  return (
    <div className="mt-5">
      {isPhone && (
        <section aria-labelledby="phone-heading" className="mb-5 rounded-xl border border-amber-300 bg-amber-50 p-4 text-amber-950" data-testid="phone-warning">
          <h2 id="phone-heading" className="flex items-center gap-2 font-semibold">
            <PhoneIcon className="size-5" />
            {t('phone.heading')}
          </h2>
          <p className="mt-1 text-sm">{t('phone.body')}</p>
          <p className="mt-3">
            <CopyButton text={checkoutUrl} label={t('phone.copyLink')}>
              {t('phone.copyLink')}
            </CopyButton>
          </p>
        </section>
      )}
      <figure className="flex flex-col items-center">
        <div className="w-full max-w-[17rem] rounded-xl border border-neutral-200 bg-white p-2" data-testid="qr" role="img" aria-label={qrAlt}>
          <QRCodeSVG
            value={codeUrl}
            size={256}
            level="M"
            marginSize={4}
            aria-hidden="true"
            focusable="false"
            style={{ width: '100%', height: 'auto', display: 'block' }}
          />
        </div>
        <figcaption className="mt-4 w-full">
          <p className="text-center font-medium text-neutral-900" data-testid="instruction">
            {t('instruction')}
          </p>
          <p className="mt-1 text-center text-sm text-neutral-700">{t('confirm', { amount })}</p>
        </figcaption>
      </figure>
      <Countdown expiresAt={view.expiresAt} now={now} />
      <div className="mt-5 flex flex-col items-center gap-3">
        <button type="button" className={secondaryButton} disabled={checking} onClick={onCheck} data-testid="check">
          {checking ? t('checking') : t('paidButton')}
        </button>
        <p className="text-center text-xs text-neutral-600">{t('live')}</p>
      </div>
    </div>
  );
}

function Expired({ token, phase, onView }: { token: string; phase: 'expired' | 'unavailable'; onView: (v: CheckoutView) => void }) {
  const t = useTranslations('checkout');
  const tc = useTranslations('common');
  const te = useTranslations('errors');
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const renew = useMutation(
    trpc.checkout.renew.mutationOptions({
      onSuccess: onView,
      // "Still valid" (our clock ran ahead) or any other refusal: show the server's current view.
      onError: () => void queryClient.invalidateQueries({ queryKey: trpc.checkout.status.queryKey({ token }) }),
    }),
  );
  const key = renew.error ? errorKey(renew.error) : null;
  return (
    <div className="mt-4">
      <p className="text-neutral-800">{phase === 'expired' ? t('expired.body') : t('unavailable.body')}</p>
      {phase === 'expired' ? (
        <button type="button" className={`${primaryButton} mt-5`} disabled={renew.isPending} onClick={() => renew.mutate({ token })} data-testid="renew">
          {renew.isPending ? t('expired.renewing') : t('expired.renew')}
        </button>
      ) : (
        // No code yet (WeChat did not answer when the order was made): ask for the current view again.
        <button
          type="button"
          className={`${primaryButton} mt-5`}
          onClick={() => void queryClient.invalidateQueries({ queryKey: trpc.checkout.status.queryKey({ token }) })}
        >
          {tc('tryAgain')}
        </button>
      )}
      <div aria-live="assertive" className="mt-3 text-sm text-red-800" data-testid="renew-error">
        {key && te(key === 'SERVICE_UNAVAILABLE' ? 'RENEW_UNAVAILABLE' : key)}
      </div>
    </div>
  );
}

function Row({ label, children, stack }: { label: string; children: ReactNode; stack?: boolean }) {
  return (
    <div className={stack ? 'flex flex-col gap-0.5 py-2' : 'flex flex-col gap-0.5 py-2 sm:flex-row sm:items-baseline sm:justify-between sm:gap-4'}>
      <dt className="text-sm text-neutral-700">{label}</dt>
      <dd className={stack ? 'min-w-0 font-medium' : 'min-w-0 font-medium sm:text-right'}>{children}</dd>
    </div>
  );
}

function Receipt({ view, phase, money }: { view: CheckoutView; phase: 'paid' | 'refunded' | 'partially_refunded'; money: (fen: number) => string }) {
  const t = useTranslations('checkout');
  const format = useFormatter();
  return (
    <div className="mt-4">
      {phase === 'paid' ? (
        <p className="text-neutral-800">{t('paid.body', { merchant: view.merchantName })}</p>
      ) : (
        <div className="rounded-xl border border-violet-200 bg-violet-50 p-4 text-violet-950" data-testid="refund">
          <p className="font-medium">
            {phase === 'refunded'
              ? t('refund.full', { amount: money(view.refundedFen || view.amountFen) })
              : t('refund.partial', { refunded: money(view.refundedFen), amount: money(view.amountFen) })}
          </p>
          <p className="mt-1 text-sm">{t('refund.timing')}</p>
        </div>
      )}
      <h2 className="mt-5 text-base font-semibold">{t('paid.receipt')}</h2>
      <dl className="mt-1 divide-y divide-neutral-200 border-y border-neutral-200">
        <Row label={t('paid.amount')}>{money(view.amountFen)}</Row>
        {view.refundedFen > 0 && <Row label={t('refund.refunded')}>{money(view.refundedFen)}</Row>}
        {view.paidAt && (
          <Row label={t('paid.time')}>
            <time dateTime={view.paidAt.toISOString()} data-testid="paid-at">
              {format.dateTime(view.paidAt, 'full')}
            </time>
          </Row>
        )}
        {view.transactionId && (
          <Row label={t('paid.transactionId')} stack>
            <span className="font-mono text-sm break-all" data-testid="transaction-id">
              {view.transactionId}
            </span>
          </Row>
        )}
        <Row label={t('merchant')}>{view.merchantName}</Row>
      </dl>
      <p className="no-print mt-4">
        <button type="button" className={secondaryButton} onClick={() => window.print()}>
          {t('paid.print')}
        </button>
      </p>
    </div>
  );
}

function Review({ view }: { view: CheckoutView }) {
  const t = useTranslations('checkout');
  const merchant = view.merchantName;
  const reason = view.reviewReason === 'late_payment' ? 'late_payment' : view.reviewReason === 'mismatch' ? 'mismatch' : 'generic';
  return (
    <div className="mt-4" data-testid="review" data-reason={view.reviewReason ?? undefined}>
      <p className="text-neutral-800">{t(`review.${reason}`, { merchant })}</p>
      <h2 className="mt-5 text-base font-semibold">{t('review.nextHeading')}</h2>
      <ol className="mt-2 list-decimal space-y-1.5 pl-5 text-neutral-800">
        <li>{t('review.next1')}</li>
        <li>{t('review.next2', { merchant })}</li>
        <li>{t('review.next3')}</li>
      </ol>
    </div>
  );
}

function Summary({ view, money }: { view: CheckoutView; money: (fen: number) => string }) {
  const t = useTranslations('checkout');
  const format = useFormatter();
  return (
    <section aria-labelledby="summary-heading" className={card}>
      <h2 id="summary-heading" className="text-lg font-semibold">
        {t('summaryHeading')}
      </h2>
      <p className="mt-1 text-sm text-neutral-700" data-testid="merchant">
        {view.merchantName}
      </p>
      <p className="mt-3 font-medium" data-testid="description">
        <OrderTitle view={view} />
      </p>
      {view.items.length > 0 && (
        <ul className="mt-3 divide-y divide-neutral-200 border-y border-neutral-200" aria-label={t('items')}>
          {view.items.map((item, i) => (
            <li key={i} className="flex items-baseline justify-between gap-3 py-2 text-sm">
              <span className="min-w-0">
                <ItemName name={item.name} nameEn={item.nameEn} /> <span className="text-neutral-700">× {item.quantity}</span>
              </span>
              <span className="tabular-nums">{money(item.unitPriceFen * item.quantity)}</span>
            </li>
          ))}
        </ul>
      )}
      <p className="mt-3 flex items-baseline justify-between font-semibold">
        <span>{t('total')}</span>
        <span className="tabular-nums">{money(view.amountFen)}</span>
      </p>
      <dl className="mt-4 space-y-3 border-t border-neutral-200 pt-4 text-sm">
        <div>
          <dt className="text-neutral-700">{t('orderNumber')}</dt>
          <dd className="mt-0.5 flex flex-wrap items-center gap-x-3 gap-y-1">
            <span className="font-mono break-all text-neutral-900" data-testid="out-trade-no">
              {view.outTradeNo}
            </span>
            <CopyButton text={view.outTradeNo} label={t('copyOrderNumber')} testId="copy-order-number" />
          </dd>
        </div>
        <div>
          <dt className="text-neutral-700">{t('created')}</dt>
          <dd className="mt-0.5 text-neutral-900">
            <time dateTime={view.createdAt.toISOString()}>{format.dateTime(view.createdAt, 'full')}</time>
          </dd>
        </div>
      </dl>
    </section>
  );
}

/** An order line's name in the shopper's language: the Chinese one kept with the order, or the catalogue's English one. */
function itemName(item: { name: string; nameEn: string | null }, locale: string): { text: string; lang: 'zh-CN' | 'en' } {
  return locale === 'en' && item.nameEn ? { text: item.nameEn, lang: 'en' } : { text: item.name, lang: 'zh-CN' };
}

function ItemName({ name, nameEn }: { name: string; nameEn: string | null }) {
  const locale = useLocale();
  const item = itemName({ name, nameEn }, locale);
  return <span lang={item.lang === locale ? undefined : item.lang}>{item.text}</span>;
}

/**
 * What the order is, in the shopper's language, made from its lines. The stored description is the
 * Chinese one WeChat shows the payer; this page shows the shopper's language instead.
 */
function OrderTitle({ view }: { view: CheckoutView }) {
  const t = useTranslations('checkout.orderTitle');
  const locale = useLocale();
  const first = view.items[0];
  if (!first) return <span lang="zh-CN">{view.description}</span>;
  const name = itemName(first, locale);
  const count = view.items.reduce((n, item) => n + item.quantity, 0);
  const text =
    view.items.length > 1
      ? t('many', { name: name.text, count, more: count - 1 })
      : count > 1
        ? t('several', { name: name.text, count })
        : t('single', { name: name.text });
  return <span lang={name.lang === locale ? undefined : name.lang}>{text}</span>;
}
