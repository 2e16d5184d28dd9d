'use client';
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useTRPC } from '../_trpc/client';

export function BuyButton({ productId, productName }: { productId: string; productName: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const create = useMutation(
    trpc.checkout.create.mutationOptions({
      onSuccess: ({ token }) => router.push(`/checkout/${token}`),
    }),
  );
  return (
    <div className="flex flex-col items-end gap-1">
      <button
        type="button"
        onClick={() => create.mutate({ items: [{ productId, quantity: 1 }] })}
        disabled={create.isPending || create.isSuccess}
        aria-label={`Buy ${productName}`}
        className="rounded-lg bg-[var(--wechat-green)] px-4 py-2 font-medium text-white hover:brightness-95 disabled:opacity-60"
      >
        {create.isPending || create.isSuccess ? '…' : '购买 Buy'}
      </button>
      {create.error && (
        <p role="alert" className="text-sm text-red-700">
          {create.error.message}
        </p>
      )}
    </div>
  );
}
