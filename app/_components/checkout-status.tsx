'use client';
import { useQuery } from '@tanstack/react-query';
import { QRCodeSVG } from 'qrcode.react';
import { useTRPC } from '../_trpc/client';

interface View {
  currency: string;
  createdAt: Date;
  status: 'awaiting_payment' | 'paid' | 'closed' | 'refunded' | 'partially_refunded' | 'review';
  amountFen: number;
  description: string;
  outTradeNo: string;
  codeUrl: string | null;
  expiresAt: Date;
  paidAt: Date | null;
  transactionId: string | null;
  merchantName: string;
}

const STATUS_TEXT: Record<View['status'], string> = {
  awaiting_payment: '等待支付 · Waiting for payment',
  paid: '支付成功 · Paid',
  closed: '订单已关闭 · Closed',
  refunded: '已退款 · Refunded',
  partially_refunded: '部分退款 · Partially refunded',
  review: '处理中 · Under review',
};

function yuan(fen: number) {
  return `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

export function CheckoutStatus({ token, initial }: { token: string; initial: View }) {
  const trpc = useTRPC();
  // Polling for now; the live stream (SSE over LISTEN/NOTIFY) replaces it in the async issue.
  const { data } = useQuery({
    ...trpc.checkout.status.queryOptions({ token }),
    initialData: initial,
    refetchInterval: (q) => (q.state.data?.status === 'awaiting_payment' ? 1500 : false),
  });
  const view = (data ?? initial) as View;

  return (
    <section className="rounded-2xl border border-neutral-200 bg-white p-6 shadow-sm" aria-labelledby="checkout-title">
      <p className="text-sm text-neutral-500">{view.merchantName}</p>
      <h1 id="checkout-title" className="mt-1 text-xl font-semibold">
        {view.description}
      </h1>
      <p className="mt-3 text-3xl font-bold" data-testid="amount">
        {yuan(view.amountFen)}
      </p>
      <p className="mt-4 font-medium" role="status" aria-live="polite" data-testid="status" data-status={view.status}>
        {STATUS_TEXT[view.status]}
      </p>
      {view.status === 'awaiting_payment' && view.codeUrl && (
        <figure className="mt-6 flex flex-col items-center">
          <div className="rounded-lg bg-white p-3" data-testid="qr">
            <QRCodeSVG value={view.codeUrl} size={240} level="M" marginSize={4} title="WeChat Pay QR code" />
          </div>
          <figcaption className="mt-3 text-center text-sm text-neutral-600">
            打开微信，扫一扫 · Open WeChat and scan
          </figcaption>
        </figure>
      )}
      {view.status === 'paid' && view.transactionId && (
        <p className="mt-4 text-sm text-neutral-600">
          微信支付单号 · WeChat transaction: <span data-testid="transaction-id">{view.transactionId}</span>
        </p>
      )}
      <p className="mt-6 text-xs text-neutral-500">
        订单号 · Order number: <span data-testid="out-trade-no">{view.outTradeNo}</span>
      </p>
    </section>
  );
}
